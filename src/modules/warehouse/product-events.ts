import { ProductUpserted } from '../../contracts';
import { event, PendingEvent } from '../../platform/kafka/outbox';
import { ProductRow } from './product.view';

/** The event-carried state other modules keep of a product. */
export const productUpserted = (p: ProductRow): PendingEvent =>
  event(ProductUpserted, {
    sku: p.sku,
    name: p.name,
    priceCents: p.price_cents,
    available: p.available,
    updatedAt: p.updated_at.toISOString(),
  });
