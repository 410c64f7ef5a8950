import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { OrderStatus } from '../order-status';
import { InvalidCursorError, OrderNotFoundError } from '../order.errors';
import { ORDER_SCHEMA as S } from '../order.schema';
import { OrderView } from '../order.view';

export interface StatusChangeView {
  status: OrderStatus;
  at: string;
  eventId: string | null;
  correlationId: string;
  reason: string | null;
}

export interface OrderDetailsView extends OrderView {
  correlationId: string;
  history: StatusChangeView[];
}

export interface OrderPage {
  items: OrderView[];
  nextCursor: string | null;
}

interface OrderRow {
  id: string;
  customer_email: string;
  status: OrderStatus;
  total_cents: string;
  rejection_reason: string | null;
  correlation_id: string;
  created_at: Date;
  updated_at: Date;
  items: { sku: string; quantity: number; unitPriceCents: number }[];
  cursor_at: string;
}

const SELECT_ORDER = `
  SELECT o.*, o.created_at::text AS cursor_at, coalesce((
    SELECT json_agg(json_build_object('sku', l.sku, 'quantity', l.quantity, 'unitPriceCents', l.unit_price_cents) ORDER BY l.sku)
    FROM "${S}".order_lines l WHERE l.order_id = o.id), '[]') AS items
  FROM "${S}".orders o`;

const view = (r: OrderRow): OrderView => ({
  id: r.id,
  status: r.status,
  customerEmail: r.customer_email,
  items: r.items,
  totalCents: Number(r.total_cents),
  rejectionReason: r.rejection_reason,
  createdAt: r.created_at.toISOString(),
  updatedAt: r.updated_at.toISOString(),
});

interface HistoryRow {
  status: OrderStatus;
  at: string;
  eventId: string | null;
  correlationId: string;
  reason: string | null;
}

/** Reads orders: one with its audit trail, or a page, newest first, with an opaque keyset cursor. */
@Injectable()
export class GetOrderService {
  constructor(@InjectDataSource('order') private readonly dataSource: DataSource) {}

  /**
   * The order and its history in one statement, so from one snapshot: read with two, a transition
   * committed between them answered a status its own history had already left behind.
   */
  async get(id: string): Promise<OrderDetailsView> {
    const [row]: (OrderRow & { history: HistoryRow[] })[] = await this.dataSource.query(
      `SELECT x.*, coalesce((
         SELECT json_agg(json_build_object('status', h.status, 'at', h.at, 'eventId', h.event_id, 'correlationId', h.correlation_id, 'reason', h.reason) ORDER BY h.id)
         FROM "${S}".order_status_history h WHERE h.order_id = x.id), '[]') AS history
       FROM (${SELECT_ORDER} WHERE o.id = $1) x`,
      [id],
    );
    if (!row) throw new OrderNotFoundError(id);
    return {
      ...view(row),
      correlationId: row.correlation_id,
      // json_agg writes timestamps with microseconds; the API answers in milliseconds, as everywhere.
      history: row.history.map((h) => ({ ...h, at: new Date(h.at).toISOString() })),
    };
  }

  async list(query: { status?: OrderStatus; limit: number; cursor?: string }): Promise<OrderPage> {
    const params: unknown[] = [];
    const where: string[] = [];
    if (query.status) {
      params.push(query.status);
      where.push(`o.status = $${params.length}`);
    }
    if (query.cursor) {
      const { createdAt, id } = decodeCursor(query.cursor);
      params.push(createdAt, id);
      where.push(`(o.created_at, o.id) < ($${params.length - 1}::timestamptz, $${params.length}::uuid)`);
    }
    params.push(query.limit + 1);
    const rows: OrderRow[] = await this.dataSource.query(
      `${SELECT_ORDER} ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY o.created_at DESC, o.id DESC LIMIT $${params.length}`,
      params,
    );
    const page = rows.slice(0, query.limit);
    const last = page[page.length - 1];
    return {
      items: page.map(view),
      nextCursor: rows.length > query.limit && last ? encodeCursor(last.cursor_at, last.id) : null,
    };
  }
}

function encodeCursor(createdAt: string, id: string): string {
  // Postgres' own text form keeps microseconds: two orders can share a millisecond.
  return Buffer.from(JSON.stringify([createdAt, id])).toString('base64url');
}

/** Postgres' text form of a timestamptz (`2026-12-07 08:01:02.123456+00`), a real date and time of day. */
function isCursorTime(text: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(\.\d{1,6})?[+-](\d{2})(:\d{2})?$/.exec(text);
  if (!m) return false;
  const [year, month, day, hour, minute, second, offset] = [m[1], m[2], m[3], m[4], m[5], m[6], m[8]].map(Number);
  const offsetMinutes = m[9] ? Number(m[9].slice(1)) : 0; // Postgres refuses 60 and more (22009: a 500)
  const date = new Date(Date.UTC(year, month - 1, day));
  return (
    year >= 1 && date.getUTCMonth() === month - 1 && date.getUTCDate() === day && hour < 24 && minute < 60 && second < 60 && offset <= 15 && offsetMinutes < 60
  );
}
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function decodeCursor(cursor: string): { createdAt: string; id: string } {
  try {
    const [createdAt, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    // Exactly what encodeCursor writes (Postgres' text form of a timestamptz, a uuid): anything else
    // would reach the query and fail there, as a 500.
    if (typeof createdAt !== 'string' || !isCursorTime(createdAt)) throw new Error();
    if (typeof id !== 'string' || !UUID.test(id)) throw new Error();
    return { createdAt, id };
  } catch {
    throw new InvalidCursorError();
  }
}
