import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { DataSource, EntityManager } from 'typeorm';
import { OrderPlaced } from '../../../contracts';
import { Environment } from '../../../platform/config/environment';
import { Cause } from '../../../platform/kafka/cause';
import { event, Outbox } from '../../../platform/kafka/outbox';
import { OrderStatus } from '../order-status';
import { UnknownSkuError } from '../order.errors';
import { ORDER_SCHEMA as S } from '../order.schema';
import { OrderView } from '../order.view';
import { claimIdempotencyKey, requestHash, StoredResponse, storeIdempotentResponse } from './idempotency';
import { PlaceOrderDto } from './place-order.dto';

export interface PlaceOrderResult extends StoredResponse {
  body: OrderView;
  replayed: boolean;
}

/**
 * Places an order: prices it from the local catalogue replica, writes the order, its lines, its
 * first history entry and `order.placed` to the outbox in one transaction.
 */
@Injectable()
export class PlaceOrderService {
  private readonly idempotencyTtlMs: number;

  constructor(
    @InjectDataSource('order') private readonly dataSource: DataSource,
    private readonly outbox: Outbox,
    config: ConfigService<Environment, true>,
  ) {
    this.idempotencyTtlMs = config.get('IDEMPOTENCY_KEY_TTL_MS', { infer: true });
  }

  async place(dto: PlaceOrderDto, requestId: string, idempotencyKey?: string): Promise<PlaceOrderResult> {
    return this.dataSource.transaction(async (m) => {
      if (idempotencyKey) {
        const stored = await claimIdempotencyKey(m, idempotencyKey, requestHash(dto), this.idempotencyTtlMs);
        if (stored) return { statusCode: stored.statusCode, body: stored.body as OrderView, replayed: true };
      }
      const body = await this.createOrder(m, dto, Cause.fromRequest(requestId));
      const result = { statusCode: 201, body };
      if (idempotencyKey) await storeIdempotentResponse(m, idempotencyKey, result);
      return { ...result, replayed: false };
    });
  }

  private async createOrder(m: EntityManager, dto: PlaceOrderDto, cause: Cause): Promise<OrderView> {
    const skus = dto.items.map((i) => i.sku);
    const priced: { sku: string; price_cents: number }[] = await m.query(
      `SELECT sku, price_cents FROM "${S}".catalogue WHERE sku = ANY($1::text[])`,
      [skus],
    );
    const prices = new Map(priced.map((p) => [p.sku, p.price_cents]));
    const unknown = skus.filter((s) => !prices.has(s));
    if (unknown.length > 0) throw new UnknownSkuError(unknown);

    const id = randomUUID();
    const items = dto.items.map((i) => ({ sku: i.sku, quantity: i.quantity, unitPriceCents: prices.get(i.sku)! }));
    const totalCents = items.reduce((sum, i) => sum + i.quantity * i.unitPriceCents, 0);
    const status: OrderStatus = 'PENDING';
    const [{ created_at }] = await m.query(
      `INSERT INTO "${S}".orders (id, customer_email, status, total_cents, correlation_id)
       VALUES ($1, $2, $3, $4, $5) RETURNING created_at`,
      [id, dto.customerEmail, status, totalCents, cause.correlationId],
    );
    await m.query(
      `INSERT INTO "${S}".order_lines (order_id, sku, quantity, unit_price_cents)
       SELECT $1, * FROM unnest($2::text[], $3::int[], $4::int[])`,
      [id, items.map((i) => i.sku), items.map((i) => i.quantity), items.map((i) => i.unitPriceCents)],
    );
    await m.query(
      `INSERT INTO "${S}".order_status_history (order_id, status, at, correlation_id) VALUES ($1, $2, $3, $4)`,
      [id, status, created_at, cause.correlationId],
    );
    const placedAt = (created_at as Date).toISOString();
    await this.outbox.add(
      m,
      cause,
      event(OrderPlaced, { orderId: id, customerEmail: dto.customerEmail, items, totalCents, placedAt }),
    );
    return {
      id,
      status,
      customerEmail: dto.customerEmail,
      items,
      totalCents,
      rejectionReason: null,
      createdAt: placedAt,
      updatedAt: placedAt,
    };
  }
}
