import { EntityManager } from 'typeorm';
import { BatchTransaction } from '../../platform/kafka/batch-transaction';
import { ReservationStatus } from './reservation.entity';
import { WAREHOUSE_SCHEMA as S } from './warehouse.schema';

/**
 * Serialises the warehouse's work on one order until the transaction ends, with the order's
 * reservation row as the lock. `order.placed` and `order.cancelled`/`order.rejected` arrive on
 * different topics and partitions, so they can be handled at the same moment: each first inserts
 * the row it would leave (RESERVED, or a CLOSED mark). The unique key makes a concurrent insert
 * wait for the first transaction to end, then find its row: so a release never misses a
 * reservation being written (and leaves no stock held), and a reservation never overwrites a
 * release's CLOSED mark.
 *
 * Returns undefined when this transaction inserted the row (it now holds the order), or the row
 * that was already there, locked (`FOR UPDATE`) for the rest of the transaction.
 */
export async function claimReservation(
  m: EntityManager,
  orderId: string,
  status: ReservationStatus,
  items: { sku: string; quantity: number }[],
): Promise<{ status: ReservationStatus; items: { sku: string; quantity: number }[] } | undefined> {
  const inserted: unknown[] = await m.query(
    `INSERT INTO "${S}".reservations (order_id, status, items) VALUES ($1, $2, $3) ON CONFLICT (order_id) DO NOTHING RETURNING 1`,
    [orderId, status, JSON.stringify(items)],
  );
  if (inserted.length === 1) return undefined;
  const [existing] = await m.query(`SELECT status, items FROM "${S}".reservations WHERE order_id = $1 FOR UPDATE`, [orderId]);
  if (!existing) throw new Error(`reservation of order ${orderId} neither inserted nor found`); // deleted meanwhile: retried
  return existing;
}

/** At commit, a reservation row of the run was already there: the run is handled again event by event. */
export class ReservationTakenError extends Error {
  constructor(orderIds: string[]) {
    super(`order(s) ${orderIds.join(', ')} already had a reservation row at commit; handling the run's events one by one`);
  }
}

/** A reservation row a run will insert at its commit: RESERVED unless the run refuses the order meanwhile. */
export interface PendingClaim {
  orderId: string;
  items: string;
  status: Extract<ReservationStatus, 'RESERVED' | 'REJECTED'>;
}

/**
 * In a consumer run, claims the order optimistically instead (no round trip per event): the rows of
 * the run are inserted with one statement just before it commits, in order id order, before the
 * stock is written. A row already there (a CLOSED mark left by a cancellation that came first, a
 * duplicate event) fails the run, whose events are then handled one by one with claimReservation,
 * which waits for that row and reads it. The claim's status is what the run decided for the order.
 */
export function claimAtCommit(m: EntityManager, run: BatchTransaction, orderId: string, items: { sku: string; quantity: number }[]): PendingClaim {
  const claim: PendingClaim = { orderId, items: JSON.stringify(items), status: 'RESERVED' };
  run.beforeCommit(m, `${S}.0-reservations`, () => [] as PendingClaim[], insertClaims).push(claim);
  return claim;
}

async function insertClaims(m: EntityManager, rows: PendingClaim[]): Promise<void> {
  const inserted: { order_id: string }[] = await m.query(
    `INSERT INTO "${S}".reservations (order_id, status, items)
     SELECT o, s, i FROM unnest($1::uuid[], $2::text[], $3::jsonb[]) AS x(o, s, i) ORDER BY o
     ON CONFLICT (order_id) DO NOTHING RETURNING order_id`,
    [rows.map((r) => r.orderId), rows.map((r) => r.status), rows.map((r) => r.items)],
  );
  if (inserted.length !== rows.length) {
    const mine = new Set(inserted.map((r) => r.order_id));
    throw new ReservationTakenError(rows.map((r) => r.orderId).filter((id) => !mine.has(id.toLowerCase())));
  }
}
