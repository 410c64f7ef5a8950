import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { ORDER_REJECTION_REASONS, STOCK_REJECTION_REASONS } from '../../../contracts';
import { ANALYTICS_SCHEMA as S } from '../analytics.schema';
import { orderRef } from '../live/live-change';
import { AnalyticsOrderStatus, ORDER_STATUSES } from '../projections/order-fact';
import { ReadModels } from '../read-models';

export interface ProductSalesView {
  sku: string;
  name: string | null;
  units: number;
  revenueCents: number;
}

export interface RecentOrderView {
  /** A short digest of the order id (orderRef): this view is public, the id is a capability. */
  orderRef: string;
  status: AnalyticsOrderStatus;
  totalCents: number;
  placedAt: string;
  rejectionReason: string | null;
}

export interface AnalyticsSummary {
  /** The projection version this answer reflects (the live stream's watermark). */
  version: number;
  asOf: string;
  orders: { placed: number; byStatus: Record<AnalyticsOrderStatus, number> };
  /** Confirmed minus cancelled-after-confirmation, in cents. */
  revenue: { netCents: number; confirmedCents: number; cancelledCents: number };
  /** Net revenue over the orders that are CONFIRMED now; null before the first one. */
  averageOrderValueCents: number | null;
  rejectionReasons: Record<string, number>;
  stock: { reserved: number; rejected: Record<string, number>; released: number };
  topProducts: { byUnits: ProductSalesView[]; byRevenue: ProductSalesView[] };
  /** Placement-to-decision time of the orders decided in the last `windowMinutes`. */
  latency: { windowMinutes: number; decided: number; p50Ms: number | null; p95Ms: number | null; p99Ms: number | null };
  recentOrders: RecentOrderView[];
}

const TOP = 10;
const RECENT = 20;
const LATENCY_WINDOW_MINUTES = 60;

/** The dashboard's headline numbers: a handful of indexed reads, no scan grows with the order count. */
@Injectable()
export class GetSummaryService {
  constructor(private readonly reads: ReadModels) {}

  get(): Promise<AnalyticsSummary> {
    return this.reads.inSnapshot((m) => this.read(m));
  }

  async read(m: EntityManager): Promise<AnalyticsSummary> {
    const [{ version, as_of }]: { version: string; as_of: Date }[] = await m.query(
      `SELECT version, now() AS as_of FROM "${S}".projection_state WHERE id = 1`,
    );
    const rows: { metric: string; value: string }[] = await m.query(`SELECT metric, value FROM "${S}".totals`);
    const total = new Map(rows.map((r) => [r.metric, Number(r.value)]));
    const t = (metric: string) => total.get(metric) ?? 0;
    const prefixed = (prefix: string, known: readonly string[]) => {
      const out: Record<string, number> = Object.fromEntries(known.map((k) => [k, 0]));
      for (const [metric, value] of total) if (metric.startsWith(prefix)) out[metric.slice(prefix.length)] = value;
      return out;
    };

    const byStatus = Object.fromEntries(ORDER_STATUSES.map((s) => [s, t(`orders.${s}`)])) as Record<AnalyticsOrderStatus, number>;
    const confirmedCents = t('revenue.confirmed_cents');
    const cancelledCents = t('revenue.cancelled_cents');
    const netCents = confirmedCents - cancelledCents;

    const [latency]: { decided: number; p: (number | null)[] | null }[] = await m.query(
      `SELECT count(*)::int AS decided,
              percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY latency_ms) AS p
       FROM "${S}".order_facts
       WHERE decided_at IS NOT NULL AND decided_at >= now() - make_interval(mins => $1)`,
      [LATENCY_WINDOW_MINUTES],
    );
    const ms = (i: number) => (latency.p?.[i] == null ? null : Math.round(Number(latency.p[i])));

    return {
      version: Number(version),
      asOf: as_of.toISOString(),
      orders: { placed: t('orders.placed'), byStatus },
      revenue: { netCents, confirmedCents, cancelledCents },
      averageOrderValueCents: byStatus.CONFIRMED > 0 ? Math.round(netCents / byStatus.CONFIRMED) : null,
      rejectionReasons: prefixed('rejections.', ORDER_REJECTION_REASONS),
      stock: { reserved: t('stock.reserved'), rejected: prefixed('stock.rejected.', STOCK_REJECTION_REASONS), released: t('stock.released') },
      topProducts: { byUnits: await this.top(m, 'units'), byRevenue: await this.top(m, 'revenue_cents') },
      latency: { windowMinutes: LATENCY_WINDOW_MINUTES, decided: latency.decided, p50Ms: ms(0), p95Ms: ms(1), p99Ms: ms(2) },
      recentOrders: await this.recent(m),
    };
  }

  private async top(m: EntityManager, by: 'units' | 'revenue_cents'): Promise<ProductSalesView[]> {
    const rows: { sku: string; name: string | null; units: string; revenue_cents: string }[] = await m.query(
      `SELECT s.sku, p.name, s.units, s.revenue_cents
       FROM (SELECT * FROM "${S}".product_sales WHERE units > 0 ORDER BY ${by} DESC, sku LIMIT $1) s
       LEFT JOIN "${S}".products p ON p.sku = s.sku
       ORDER BY s.${by} DESC, s.sku`,
      [TOP],
    );
    return rows.map((r) => ({ sku: r.sku, name: r.name, units: Number(r.units), revenueCents: Number(r.revenue_cents) }));
  }

  private async recent(m: EntityManager): Promise<RecentOrderView[]> {
    const rows: {
      order_id: string;
      placed_at: Date;
      total_cents: string;
      confirmed_at: Date | null;
      rejected_at: Date | null;
      cancelled_at: Date | null;
      rejection_reason: string | null;
    }[] = await m.query(
      `SELECT order_id, placed_at, total_cents, confirmed_at, rejected_at, cancelled_at, rejection_reason
       FROM "${S}".order_facts WHERE placed_at IS NOT NULL ORDER BY placed_at DESC LIMIT $1`,
      [RECENT],
    );
    return rows.map((r) => ({
      orderRef: orderRef(r.order_id),
      status: r.cancelled_at ? 'CANCELLED' : r.rejected_at ? 'REJECTED' : r.confirmed_at ? 'CONFIRMED' : 'PENDING',
      totalCents: Number(r.total_cents),
      placedAt: r.placed_at.toISOString(),
      rejectionReason: r.rejection_reason,
    }));
  }
}
