import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { EventEnvelope, ProductUpserted, ProductUpsertedPayload } from '../../../contracts';
import { Inbox } from '../../../platform/kafka/inbox';
import { ORDER_SCHEMA as S } from '../order.schema';
import { OnOrderEvent } from '../order-events';

/** Keeps the order module's catalogue replica: last write (by `updatedAt`) wins, so replays are harmless. */
@Controller()
export class OnProductUpsertedHandler {
  constructor(private readonly inbox: Inbox) {}

  @OnOrderEvent(ProductUpserted)
  async handle(@Payload() envelope: EventEnvelope<ProductUpsertedPayload>): Promise<void> {
    const p = envelope.payload;
    await this.inbox.once(envelope, 'order.catalogue', async (m) => {
      await m.query(
        `INSERT INTO "${S}".catalogue (sku, name, price_cents, updated_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (sku) DO UPDATE SET name = excluded.name, price_cents = excluded.price_cents, updated_at = excluded.updated_at
         WHERE catalogue.updated_at <= excluded.updated_at`,
        [p.sku, p.name, p.priceCents, p.updatedAt],
      );
    });
  }
}
