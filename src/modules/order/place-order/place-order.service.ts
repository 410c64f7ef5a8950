import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { OrderPlaced } from '../../../contracts';
import { Environment } from '../../../platform/config/environment';
import { committedDespite, transactionCommitted } from '../../../platform/database/transaction-status';
import { uuidV7 } from '../../../platform/database/uuid-v7';
import { Cause } from '../../../platform/kafka/cause';
import { OverloadedError } from '../../../platform/http/overloaded.error';
import { event, Outbox, PendingEvent } from '../../../platform/kafka/outbox';
import { OrderStatus } from '../order-status';
import { UnknownSkuError } from '../order.errors';
import { ORDER_SCHEMA as S } from '../order.schema';
import { OrderLineView, OrderView } from '../order.view';
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
  private readonly maxPending: number;
  /** Orders being placed now: accepted, not answered yet. */
  private pending = 0;
  private readonly group?: GroupCommit<PlaceOrderRequest, PlaceOrderResult>;

  constructor(
    @InjectDataSource('order') private readonly dataSource: DataSource,
    private readonly outbox: Outbox,
    config: ConfigService<Environment, true>,
  ) {
    this.idempotencyTtlMs = config.get('IDEMPOTENCY_KEY_TTL_MS', { infer: true });
    this.maxPending = config.get('ORDER_MAX_PENDING', { infer: true });
    const windowMs = config.get('ORDER_GROUP_COMMIT_WINDOW_MS', { infer: true });
    if (windowMs > 0) {
      // Half the pool at most, so the module's consumer and relay always find a connection.
      const maxConcurrent = Math.max(1, Math.floor(config.get('DATABASE_POOL_SIZE', { infer: true }) / 2));
      const maxBatch = config.get('ORDER_GROUP_COMMIT_MAX', { infer: true });
      this.group = new GroupCommit((batch) => this.placeBatch(batch), { windowMs, maxBatch, maxConcurrent });
    }
  }

  /**
   * Concurrent orders share a transaction (group commit, docs/performance.md) unless it is turned
   * off. Once ORDER_MAX_PENDING are in progress, a new one is refused before anything is written.
   */
  async place(dto: PlaceOrderDto, requestId: string, idempotencyKey?: string): Promise<PlaceOrderResult> {
    if (this.pending >= this.maxPending) {
      throw new OverloadedError(
        `${this.pending} orders are being placed, the most this process takes at once (ORDER_MAX_PENDING); retry shortly (the same Idempotency-Key places it once)`,
      );
    }
    this.pending++;
    try {
      if (!this.group) return await this.placeAlone(dto, requestId, idempotencyKey);
      return await this.group.submit({ dto, requestId, idempotencyKey });
    } finally {
      this.pending--;
    }
  }

  /**
   * One order, one transaction: the path every order took before group commit, and its fallback.
   * When the connection is lost after the order was written, the transaction's status
   * (`txid_status`) says whether COMMIT got through: if it did, the answer is 201, as for a batch.
   */
  private async placeAlone(dto: PlaceOrderDto, requestId: string, idempotencyKey?: string): Promise<PlaceOrderResult> {
    let attempted: { xid: string; body?: OrderView } | undefined;
    try {
      return await this.dataSource.transaction(async (m) => {
        if (idempotencyKey) {
          const stored = await claimIdempotencyKey(m, idempotencyKey, requestHash(dto), this.idempotencyTtlMs);
          if (stored) return { statusCode: stored.statusCode, body: stored.body as OrderView, replayed: true };
        }
        const body = await this.createOrder(m, dto, Cause.fromRequest(requestId), (xid) => (attempted = { xid }));
        attempted!.body = body;
        const result = { statusCode: 201, body };
        if (idempotencyKey) await storeIdempotentResponse(m, idempotencyKey, result);
        return { ...result, replayed: false };
      });
    } catch (error) {
      const written = attempted?.body;
      if (!written || !(await committedDespite(error, this.dataSource, attempted!.xid))) throw error;
      return { statusCode: 201, body: written, replayed: false };
    }
  }

  /** Writes the order; `begun` gets the transaction's id (read with the prices: no round trip of its own). */
  private async createOrder(m: EntityManager, dto: PlaceOrderDto, cause: Cause, begun: (xid: string) => void): Promise<OrderView> {
    const skus = dto.items.map((i) => i.sku);
    const priced: { sku: string | null; price_cents: number | null; xid: string | null }[] = await m.query(
      `SELECT sku, price_cents, NULL AS xid FROM "${S}".catalogue WHERE sku = ANY($1::text[])
       UNION ALL SELECT NULL, NULL, txid_current()::text`,
      [skus],
    );
    begun(priced.find((p) => p.xid !== null)!.xid!);
    const prices = new Map(priced.filter((p) => p.sku !== null).map((p) => [p.sku!, p.price_cents!]));
    const unknown = skus.filter((s) => !prices.has(s));
    if (unknown.length > 0) throw new UnknownSkuError(unknown);

    const id = uuidV7();
    const { items, totalCents } = priceLines(dto, prices);
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
    const view = placedView(id, dto.customerEmail, { items, totalCents }, (created_at as Date).toISOString());
    await this.outbox.add(m, cause, orderPlaced(view));
    return view;
  }

  /**
   * Group commit: the orders of one batch in one transaction of four round trips — BEGIN; the
   * Idempotency-Keys claimed, the prices and the clock in one statement; orders, lines, history,
   * stored responses and the outbox's `order.placed` rows in one more; COMMIT — so Postgres commits,
   * and NOTIFYs the relay, once per batch. A key repeated in the batch or already stored answers
   * alone, after the batch (a replay, a reuse or the race's loser); every order of a batch whose
   * transaction fails takes the one-order path, so each request still gets exactly the answer it
   * would have got on its own — unless the failure was COMMIT's answer lost after the server
   * committed: the transaction's status (`txid_status`) tells, and its orders answer as placed.
   */
  private async placeBatch(requests: PlaceOrderRequest[]): Promise<(PlaceOrderResult | { error: unknown })[]> {
    const results: (PlaceOrderResult | { error: unknown } | undefined)[] = new Array(requests.length);
    let alone: number[] = [];
    /** The orders the batch's INSERT carried, and its transaction's id: after a failure, in only if COMMIT got through. */
    let attempted: { i: number; body: OrderView }[] = [];
    let xid: string | undefined;
    try {
      const committed = await this.dataSource.transaction(async (m) => {
        const decided: [number, PlaceOrderResult | { error: unknown }][] = [];
        const claiming: number[] = [];
        const keys = new Set<string>();
        requests.forEach((r, i) => {
          if (r.idempotencyKey === undefined) return;
          if (keys.has(r.idempotencyKey)) alone.push(i);
          else {
            keys.add(r.idempotencyKey);
            claiming.push(i);
          }
        });
        const repeated = new Set(alone);
        const allSkus = [...new Set(requests.flatMap((r) => r.dto.items.map((i) => i.sku)))];
        const read: { kind: 'key' | 'sku' | 'clock' | 'xid'; name: string | null; value: string }[] = await m.query(
          `WITH claimed AS (
             INSERT INTO "${S}".idempotency_keys (key, request_hash, status_code, response, expires_at)
             SELECT k, h, 0, 'null', now() + $3 * interval '1 millisecond' FROM unnest($1::text[], $2::text[]) AS x(k, h)
             ORDER BY k -- every batch takes its keys in one order: two holding the same keys cannot deadlock
             ON CONFLICT (key) DO NOTHING RETURNING key
           )
           SELECT 'key' AS kind, key AS name, '' AS value FROM claimed
           UNION ALL SELECT 'sku', sku, price_cents::text FROM "${S}".catalogue WHERE sku = ANY($4::text[])
           UNION ALL SELECT 'clock', NULL, (extract(epoch FROM clock_timestamp()) * 1000000)::bigint::text
           UNION ALL SELECT 'xid', NULL, txid_current()::text`,
          [claiming.map((i) => requests[i].idempotencyKey), claiming.map((i) => requestHash(requests[i].dto)), this.idempotencyTtlMs, allSkus],
        );
        const claimed = new Set<string>();
        const prices = new Map<string, number>();
        let clockUs = 0n;
        for (const r of read) {
          if (r.kind === 'key') claimed.add(r.name!);
          else if (r.kind === 'sku') prices.set(r.name!, Number(r.value));
          else if (r.kind === 'xid') xid = r.value;
          else clockUs = BigInt(r.value);
        }

        const batch: number[] = [];
        const dropped: string[] = []; // claimed for an order that fails: the key stays unused, as after a rollback
        requests.forEach((r, i) => {
          if (repeated.has(i)) return;
          const key = r.idempotencyKey;
          if (key !== undefined && !claimed.has(key)) {
            alone.push(i);
            return;
          }
          const unknown = r.dto.items.map((x) => x.sku).filter((sku) => !prices.has(sku));
          if (unknown.length === 0) batch.push(i);
          else {
            decided.push([i, { error: new UnknownSkuError(unknown) }]);
            if (key !== undefined) dropped.push(key);
          }
        });
        if (batch.length === 0) {
          if (dropped.length > 0) await m.query(`DELETE FROM "${S}".idempotency_keys WHERE key = ANY($1::text[])`, [dropped]);
          return decided;
        }

        // Creation times one microsecond apart from the clock read above, so the orders of a batch
        // keep their order (keyset paging breaks ties by id); the answers carry them in milliseconds.
        const orders = batch.map((i, k) => {
          const { dto, requestId } = requests[i];
          const us = clockUs + BigInt(k);
          const placedAt = new Date(Number(us / 1000n)).toISOString();
          const at = `${placedAt.slice(0, -1)}${String(us % 1000n).padStart(3, '0')}Z`;
          const body = placedView(uuidV7(), dto.customerEmail, priceLines(dto, prices), placedAt);
          return { i, body, at, cause: Cause.fromRequest(requestId) };
        });
        attempted = orders;
        const lines = orders.flatMap((o) => o.body.items.map((x) => ({ id: o.body.id, ...x })));
        const stored = orders.filter((o) => requests[o.i].idempotencyKey !== undefined);
        const outbox = this.outbox.inStatement(
          orders.map((o) => ({ cause: o.cause, event: orderPlaced(o.body) })),
          13,
        );
        const [{ placed }]: { placed: number }[] = await m.query(
          `WITH placed AS (
             INSERT INTO "${S}".orders (id, customer_email, status, total_cents, correlation_id, created_at, updated_at)
             SELECT id, e, 'PENDING', t, c, at, at
             FROM unnest($1::uuid[], $2::text[], $3::bigint[], $4::text[], $5::timestamptz[]) WITH ORDINALITY AS x(id, e, t, c, at, n)
             ORDER BY n RETURNING id
           ), lines AS (
             INSERT INTO "${S}".order_lines (order_id, sku, quantity, unit_price_cents)
             SELECT * FROM unnest($6::uuid[], $7::text[], $8::int[], $9::int[])
           ), history AS (
             INSERT INTO "${S}".order_status_history (order_id, status, at, correlation_id)
             SELECT id, 'PENDING', at, c FROM unnest($1::uuid[], $5::timestamptz[], $4::text[]) WITH ORDINALITY AS x(id, at, c, n) ORDER BY n
           ), stored AS (
             UPDATE "${S}".idempotency_keys k SET status_code = 201, response = x.r
             FROM unnest($10::text[], $11::jsonb[]) AS x(key, r) WHERE k.key = x.key
           ), dropped AS (
             DELETE FROM "${S}".idempotency_keys WHERE key = ANY($12::text[])
           ), events AS (
             ${outbox.sql}
           )
           SELECT count(*)::int AS placed FROM placed`,
          [
            orders.map((o) => o.body.id),
            orders.map((o) => o.body.customerEmail),
            orders.map((o) => o.body.totalCents),
            orders.map((o) => o.cause.correlationId),
            orders.map((o) => o.at),
            lines.map((l) => l.id),
            lines.map((l) => l.sku),
            lines.map((l) => l.quantity),
            lines.map((l) => l.unitPriceCents),
            stored.map((o) => requests[o.i].idempotencyKey),
            stored.map((o) => JSON.stringify(o.body)),
            dropped,
            ...outbox.params,
          ],
        );
        if (placed !== orders.length) throw new Error(`group commit placed ${placed} of ${orders.length} orders`);
        return [...decided, ...orders.map((o): [number, PlaceOrderResult] => [o.i, { statusCode: 201, body: o.body, replayed: false }])];
      });
      for (const [i, r] of committed) results[i] = r;
    } catch (error) {
      // The batch as a whole failed. If what got lost was COMMIT's answer, its orders are in: ask the
      // database before placing any again, or a request without an Idempotency-Key gets a second order.
      const landed = attempted.length === 0 || xid === undefined ? false : await transactionCommitted(this.dataSource, xid).catch(() => undefined);
      if (landed === undefined) {
        // The database cannot say (still away): the failure is the answer, not a possible second order.
        return requests.map(() => ({ error }));
      }
      if (landed) for (const o of attempted) results[o.i] = { statusCode: 201, body: o.body, replayed: false };
      // The rest (or all, when nothing committed) is tried alone and answers for itself.
      alone = requests.map((_, i) => i).filter((i) => results[i] === undefined);
    }
    // One at a time, on the batch's slot: at most one connection per batch, as the batch itself took.
    for (const i of alone) {
      const { dto, requestId, idempotencyKey } = requests[i];
      results[i] = await this.placeAlone(dto, requestId, idempotencyKey).catch((error: unknown) => ({ error }));
    }
    return results as (PlaceOrderResult | { error: unknown })[];
  }
}

/** The order's lines at the catalogue's prices, and its total. */
function priceLines(dto: PlaceOrderDto, prices: Map<string, number>): { items: OrderLineView[]; totalCents: number } {
  const items = dto.items.map((x) => ({ sku: x.sku, quantity: x.quantity, unitPriceCents: prices.get(x.sku)! }));
  return { items, totalCents: items.reduce((sum, x) => sum + x.quantity * x.unitPriceCents, 0) };
}

/** What a request that placed an order gets back (and a retry with its Idempotency-Key, later). */
function placedView(id: string, customerEmail: string, { items, totalCents }: { items: OrderLineView[]; totalCents: number }, placedAt: string): OrderView {
  return { id, status: 'PENDING', customerEmail, items, totalCents, rejectionReason: null, createdAt: placedAt, updatedAt: placedAt };
}

/** The event a placed order announces itself with. */
function orderPlaced(view: OrderView): PendingEvent {
  return event(OrderPlaced, { orderId: view.id, customerEmail: view.customerEmail, items: view.items, totalCents: view.totalCents, placedAt: view.createdAt });
}

interface PlaceOrderRequest {
  dto: PlaceOrderDto;
  requestId: string;
  idempotencyKey?: string;
}
