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
import { GroupCommit } from './group-commit';

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
  private readonly group?: GroupCommit<PlaceOrderRequest, PlaceOrderResult>;

  constructor(
    @InjectDataSource('order') private readonly dataSource: DataSource,
    private readonly outbox: Outbox,
    config: ConfigService<Environment, true>,
  ) {
    this.idempotencyTtlMs = config.get('IDEMPOTENCY_KEY_TTL_MS', { infer: true });
    const windowMs = config.get('ORDER_GROUP_COMMIT_WINDOW_MS', { infer: true });
    if (windowMs > 0) {
      // Half the pool at most, so the module's consumer and relay always find a connection.
      const maxConcurrent = Math.max(1, Math.floor(config.get('DATABASE_POOL_SIZE', { infer: true }) / 2));
      const maxBatch = config.get('ORDER_GROUP_COMMIT_MAX', { infer: true });
      this.group = new GroupCommit((batch) => this.placeBatch(batch), { windowMs, maxBatch, maxConcurrent });
    }
  }

  /** Concurrent orders share a transaction (group commit, docs/performance.md) unless it is turned off. */
  async place(dto: PlaceOrderDto, requestId: string, idempotencyKey?: string): Promise<PlaceOrderResult> {
    if (!this.group) return this.placeAlone(dto, requestId, idempotencyKey);
    return this.group.submit({ dto, requestId, idempotencyKey });
  }

  /** One order, one transaction: the path every order took before group commit, and its fallback. */
  private async placeAlone(dto: PlaceOrderDto, requestId: string, idempotencyKey?: string): Promise<PlaceOrderResult> {
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

  /**
   * Group commit: the orders of one batch in one transaction with multi-row inserts (orders, lines,
   * history, outbox, Idempotency-Keys), so Postgres commits, and NOTIFYs the relay, once per batch.
   * An order the batch cannot decide alone (a key already stored or repeated in the batch, a key
   * with an unknown SKU) and every order of a batch whose transaction fails take the one-order path,
   * so each request still gets exactly the answer it would have got on its own.
   */
  private async placeBatch(requests: PlaceOrderRequest[]): Promise<(PlaceOrderResult | { error: unknown })[]> {
    const results: (PlaceOrderResult | { error: unknown } | undefined)[] = new Array(requests.length);
    let alone: number[] = [];
    try {
      const committed = await this.dataSource.transaction(async (m) => {
        const decided: [number, PlaceOrderResult | { error: unknown }][] = [];
        const allSkus = [...new Set(requests.flatMap((r) => r.dto.items.map((i) => i.sku)))];
        const priced: { sku: string; price_cents: number }[] = await m.query(
          `SELECT sku, price_cents FROM "${S}".catalogue WHERE sku = ANY($1::text[])`,
          [allSkus],
        );
        const prices = new Map(priced.map((p) => [p.sku, p.price_cents]));
        const keys = new Set<string>();
        let batch: number[] = [];
        requests.forEach((r, i) => {
          const unknown = r.dto.items.map((x) => x.sku).filter((sku) => !prices.has(sku));
          if (r.idempotencyKey !== undefined && (keys.has(r.idempotencyKey) || unknown.length > 0)) alone.push(i);
          else if (unknown.length > 0) decided.push([i, { error: new UnknownSkuError(unknown) }]);
          else {
            if (r.idempotencyKey !== undefined) keys.add(r.idempotencyKey);
            batch.push(i);
          }
        });
        const keyed = batch.filter((i) => requests[i].idempotencyKey !== undefined);
        if (keyed.length > 0) {
          const claimed: { key: string }[] = await m.query(
            `INSERT INTO "${S}".idempotency_keys (key, request_hash, status_code, response, expires_at)
             SELECT k, h, 0, 'null', now() + $3 * interval '1 millisecond' FROM unnest($1::text[], $2::text[]) AS x(k, h)
             ON CONFLICT (key) DO NOTHING RETURNING key`,
            [keyed.map((i) => requests[i].idempotencyKey), keyed.map((i) => requestHash(requests[i].dto)), this.idempotencyTtlMs],
          );
          const mine = new Set(claimed.map((c) => c.key));
          const taken = keyed.filter((i) => !mine.has(requests[i].idempotencyKey!));
          alone.push(...taken);
          batch = batch.filter((i) => !taken.includes(i));
        }
        if (batch.length === 0) return decided;

        const orders = batch.map((i) => {
          const { dto, requestId } = requests[i];
          const items = dto.items.map((x) => ({ sku: x.sku, quantity: x.quantity, unitPriceCents: prices.get(x.sku)! }));
          const totalCents = items.reduce((sum, x) => sum + x.quantity * x.unitPriceCents, 0);
          return { i, id: randomUUID(), dto, items, totalCents, cause: Cause.fromRequest(requestId) };
        });
        const lines = orders.flatMap((o) => o.items.map((x) => ({ id: o.id, ...x })));
        // Orders, lines and first history entries in one statement (one round trip: the accept path
        // waits for each one on a loop it shares with the consumers). clock_timestamp per row: orders
        // of one batch keep distinct creation times (keyset paging).
        const inserted: { id: string; created_at: Date }[] = await m.query(
          `WITH placed AS (
             INSERT INTO "${S}".orders (id, customer_email, status, total_cents, correlation_id, created_at, updated_at)
             SELECT id, e, 'PENDING', t, c, at, at
             FROM (SELECT x.*, clock_timestamp() AS at FROM unnest($1::uuid[], $2::text[], $3::bigint[], $4::text[]) WITH ORDINALITY AS x(id, e, t, c, n)) y
             ORDER BY n RETURNING id, created_at, correlation_id
           ), lines AS (
             INSERT INTO "${S}".order_lines (order_id, sku, quantity, unit_price_cents)
             SELECT * FROM unnest($5::uuid[], $6::text[], $7::int[], $8::int[])
           ), history AS (
             INSERT INTO "${S}".order_status_history (order_id, status, at, correlation_id)
             SELECT id, 'PENDING', created_at, correlation_id FROM placed ORDER BY created_at
           )
           SELECT id, created_at FROM placed`,
          [
            orders.map((o) => o.id),
            orders.map((o) => o.dto.customerEmail),
            orders.map((o) => o.totalCents),
            orders.map((o) => o.cause.correlationId),
            lines.map((l) => l.id),
            lines.map((l) => l.sku),
            lines.map((l) => l.quantity),
            lines.map((l) => l.unitPriceCents),
          ],
        );
        const createdAt = new Map(inserted.map((r) => [r.id, r.created_at]));
        const views = orders.map((o): [number, PlaceOrderResult] => {
          const placedAt = createdAt.get(o.id)!.toISOString();
          const body: OrderView = {
            id: o.id,
            status: 'PENDING',
            customerEmail: o.dto.customerEmail,
            items: o.items,
            totalCents: o.totalCents,
            rejectionReason: null,
            createdAt: placedAt,
            updatedAt: placedAt,
          };
          return [o.i, { statusCode: 201, body, replayed: false }];
        });
        await this.outbox.addEach(
          m,
          views.map(([i, { body }], k) => ({
            cause: orders[k].cause,
            event: event(OrderPlaced, {
              orderId: body.id,
              customerEmail: body.customerEmail,
              items: body.items,
              totalCents: body.totalCents,
              placedAt: body.createdAt,
            }),
          })),
        );
        const stored = views.filter(([i]) => requests[i].idempotencyKey !== undefined);
        if (stored.length > 0) {
          await m.query(
            `UPDATE "${S}".idempotency_keys k SET status_code = 201, response = x.r
             FROM unnest($1::text[], $2::jsonb[]) AS x(key, r) WHERE k.key = x.key`,
            [stored.map(([i]) => requests[i].idempotencyKey), stored.map(([, r]) => JSON.stringify(r.body))],
          );
        }
        return [...decided, ...views];
      });
      for (const [i, r] of committed) results[i] = r;
    } catch {
      // The batch as a whole failed: every order in it is tried alone and answers for itself.
      alone = requests.map((_, i) => i);
    }
    await Promise.all(
      alone.map(async (i) => {
        const { dto, requestId, idempotencyKey } = requests[i];
        results[i] = await this.placeAlone(dto, requestId, idempotencyKey).catch((error: unknown) => ({ error }));
      }),
    );
    return results as (PlaceOrderResult | { error: unknown })[];
  }
}

interface PlaceOrderRequest {
  dto: PlaceOrderDto;
  requestId: string;
  idempotencyKey?: string;
}
