import { EntityManager } from 'typeorm';

/**
 * Serialises the warehouse's work on one order until the transaction ends. `order.placed` and
 * `order.cancelled`/`order.rejected` arrive on different topics and partitions, so they can be
 * handled at the same moment; without this, a release could miss a reservation being written
 * (and leave its stock held) or a reservation could overwrite a release's CLOSED mark.
 */
export async function lockOrder(m: EntityManager, orderId: string): Promise<void> {
  await m.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`warehouse:order:${orderId}`]);
}
