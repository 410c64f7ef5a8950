import { EntityManager } from 'typeorm';
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
