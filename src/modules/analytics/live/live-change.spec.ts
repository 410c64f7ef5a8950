import { uuidV7 } from '../../../platform/database/uuid-v7';
import { orderRef } from './live-change';

describe(orderRef.name, () => {
  it('tells apart orders placed in the same millisecond (time-ordered ids share their first characters)', () => {
    const now = Date.now();
    const refs = new Set(Array.from({ length: 1000 }, () => orderRef(uuidV7(now))));
    expect(refs.size).toBe(1000);
  });

  it('gives the same 8 hex characters for the same order, whatever the case of its id', () => {
    const id = uuidV7();
    expect(orderRef(id)).toMatch(/^[0-9a-f]{8}$/);
    expect(orderRef(id.toUpperCase())).toBe(orderRef(id));
  });

  it('contains no part of the id: the id is what reads and cancels an order', () => {
    for (let i = 0; i < 200; i++) {
      const id = uuidV7();
      const hex = id.replace(/-/g, '');
      expect(hex.includes(orderRef(id))).toBe(false);
    }
  });
});
