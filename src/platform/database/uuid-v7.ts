import { randomFillSync } from 'node:crypto';

// Random bytes come from a pool refilled 256 ids at a time (as node's randomUUID does): one
// randomFillSync call per id would cost more than building the string.
const ID_BYTES = 10;
const pool = Buffer.allocUnsafe(ID_BYTES * 256);
let next = pool.length;
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/**
 * A UUID version 7 (RFC 9562 §5.7): the Unix time in milliseconds in the first 48 bits, then 74
 * random bits. Ids made later sort later, so the B-tree indexes they key (each module's inbox and
 * outbox, the orders) grow at their right edge: a claim touches the few pages written last instead of
 * a random page of an index that outgrows shared_buffers, and the WAL after each checkpoint carries
 * far fewer full-page images (docs/performance.md, `npm run bench:inbox-keys`).
 *
 * Ids of the same millisecond are not ordered among themselves; nothing here needs them to be.
 */
export function uuidV7(now: number = Date.now()): string {
  if (next + ID_BYTES > pool.length) {
    randomFillSync(pool);
    next = 0;
  }
  const r = next;
  next += ID_BYTES;
  const time = now.toString(16).padStart(12, '0');
  const b = (i: number) => HEX[pool[r + i]];
  return (
    `${time.slice(0, 8)}-${time.slice(8, 12)}-` +
    `7${b(0)[1]}${b(1)}-` + // version 7, then 12 random bits
    `${HEX[0x80 | (pool[r + 2] & 0x3f)]}${b(3)}-` + // variant 10, then 62 random bits
    `${b(4)}${b(5)}${b(6)}${b(7)}${b(8)}${b(9)}`
  );
}
