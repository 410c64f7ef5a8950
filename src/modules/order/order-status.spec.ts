import { canTransition, ORDER_STATUSES } from './order-status';

describe('order status machine', () => {
  it.each([
    ['PENDING', 'CONFIRMED'],
    ['PENDING', 'REJECTED'],
    ['PENDING', 'CANCELLED'],
    ['CONFIRMED', 'CANCELLED'],
  ] as const)('allows %s -> %s', (from, to) => expect(canTransition(from, to)).toBe(true));

  it('never leaves a final status, and never re-enters the same one', () => {
    for (const to of ORDER_STATUSES) {
      expect(canTransition('REJECTED', to)).toBe(false);
      expect(canTransition('CANCELLED', to)).toBe(false);
    }
    for (const s of ORDER_STATUSES) expect(canTransition(s, s)).toBe(false);
  });

  it('does not confirm a cancelled or rejected order when a late reservation arrives', () => {
    expect(canTransition('CANCELLED', 'CONFIRMED')).toBe(false);
    expect(canTransition('REJECTED', 'CONFIRMED')).toBe(false);
  });
});
