import { ProductUpserted } from '../../contracts';
import { event, PendingEvent } from '../../platform/kafka/outbox';
import { ProductRow } from './product.view';

/**
 * `updated_at` for a product write that publishes `product.upserted`, in SQL over the locked row `p`:
 * later than the version it replaces, taken once the row is locked. Consumers keep the newest
 * `updatedAt` (the order catalogue and the analytics product list), so it must grow in commit order:
 * `now()` is when the transaction began, and a change that began first but committed second carried
 * the older time, and its price was dropped. A millisecond at least, the precision events carry.
 */
export const NEXT_VERSION = `greatest(clock_timestamp(), p.updated_at + interval '1 millisecond')`;

/** The event-carried state other modules keep of a product. */
export const productUpserted = (p: ProductRow): PendingEvent =>
  event(ProductUpserted, {
    sku: p.sku,
    name: p.name,
    priceCents: p.price_cents,
    available: p.available,
    updatedAt: p.updated_at.toISOString(),
  });
