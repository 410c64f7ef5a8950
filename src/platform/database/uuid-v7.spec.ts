import { isUUID } from 'class-validator';
import { uuidV7 } from './uuid-v7';

const RFC_9562_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const millisOf = (id: string) => parseInt(id.replace(/-/g, '').slice(0, 12), 16);

describe('uuidV7', () => {
  it('has the version 7 and variant bits of RFC 9562, and no two of a few thousand are the same', () => {
    const ids = Array.from({ length: 5000 }, () => uuidV7()); // crosses the random pool's refills
    for (const id of ids) expect(id).toMatch(RFC_9562_V7);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('carries the given time in its first 48 bits', () => {
    for (const now of [0, 1, 1_764_000_000_123, 2 ** 48 - 1]) expect(millisOf(uuidV7(now))).toBe(now);
  });

  it('sorts an id of a later millisecond after every id of an earlier one (as text; Postgres compares uuids byte by byte, the same order)', () => {
    const now = Date.now();
    const earlier = Array.from({ length: 200 }, () => uuidV7(now));
    const later = Array.from({ length: 200 }, () => uuidV7(now + 1));
    const maxEarlier = earlier.reduce((a, b) => (a > b ? a : b));
    const minLater = later.reduce((a, b) => (a < b ? a : b));
    expect(minLater > maxEarlier).toBe(true);
  });

  it('uses its random bits: ids of one millisecond differ in more than the pool position', () => {
    const now = Date.now();
    const tails = new Set(Array.from({ length: 1000 }, () => uuidV7(now).slice(15)));
    expect(tails.size).toBe(1000);
    const versionNibbleFollowers = new Set(Array.from({ length: 1000 }, () => uuidV7(now)[15]));
    expect(versionNibbleFollowers.size).toBeGreaterThan(8);
  });

  it('passes the uuid checks of the contracts and of the routes (any version)', () => {
    expect(isUUID(uuidV7())).toBe(true);
  });
});
