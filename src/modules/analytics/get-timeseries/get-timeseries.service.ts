import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { InvalidTimeRangeError } from '../analytics.errors';
import { ANALYTICS_SCHEMA as S } from '../analytics.schema';
import { ReadModels } from '../read-models';
import { BucketSize, BUCKETS } from './get-timeseries.dto';

export interface TimeseriesPoint {
  /** Start of the bucket. */
  at: string;
  placed: number;
  confirmed: number;
  rejected: number;
  cancelled: number;
  /** Confirmed minus cancelled-after-confirmation revenue, by the time each happened. */
  revenueCents: number;
  /** Placement-to-decision time of the orders decided in this bucket. */
  latency: { decided: number; p50Ms: number | null; p95Ms: number | null; p99Ms: number | null };
}

export interface Timeseries {
  version: number;
  from: string;
  to: string;
  bucket: BucketSize;
  points: TimeseriesPoint[];
}

export interface TimeseriesRange {
  from?: string;
  to?: string;
  bucket?: BucketSize;
}

const MAX_POINTS = 1440;
const EARLIEST = Date.UTC(1970, 0, 1);
const LATEST = Date.UTC(10_000, 0, 1);
/** A date alone (read as UTC), or a time that ends with its zone. */
const ZONED_OR_DATE = /^(\d{4}-\d{2}-\d{2}|.*(Z|[+-]\d{2}(:?\d{2})?))$/i;
const EPOCH = '2000-01-01T00:00:00Z';

/** Per-bucket counts from the minute table and latency percentiles over the decided orders: range scans on indexes. */
@Injectable()
export class GetTimeseriesService {
  constructor(private readonly reads: ReadModels) {}

  get(range: TimeseriesRange, now = new Date()): Promise<Timeseries> {
    return this.reads.inSnapshot((m) => this.read(m, range, now));
  }

  async read(m: EntityManager, range: TimeseriesRange, now = new Date()): Promise<Timeseries> {
    const bucket = range.bucket ?? '1m';
    const stepMs = BUCKETS[bucket] * 60_000;
    const align = (ms: number) => ms - (((ms - Date.parse(EPOCH)) % stepMs) + stepMs) % stepMs;
    // A time of day without a zone would be read in this process' time zone: one reads it the same everywhere.
    for (const t of [range.from, range.to]) {
      if (t !== undefined && !ZONED_OR_DATE.test(t)) throw new InvalidTimeRangeError(`${t} names no time zone: add Z or an offset such as +01:00`);
    }
    // The counts are kept by the minute: a `to` inside a minute takes all of it (latency too, so the two agree).
    const toMs = range.to ? Math.ceil(Date.parse(range.to) / 60_000) * 60_000 : align(now.getTime()) + stepMs;
    const fromMs = align(range.from ? Date.parse(range.from) : toMs - 30 * stepMs);
    // ISO 8601 allows forms JavaScript cannot read (2024-W01-1, 20240101, 2024-01-01T10).
    if (Number.isNaN(fromMs) || Number.isNaN(toMs)) throw new InvalidTimeRangeError('from and to must be times such as 2026-12-07T10:00:00Z');
    // Postgres has no year 0 (a default `from` a few buckets before year 1 answered 500).
    if (fromMs < EARLIEST || toMs > LATEST) throw new InvalidTimeRangeError('from and to must fall between 1970 and 9999');
    if (fromMs >= toMs) throw new InvalidTimeRangeError('from must be before to');
    const count = Math.ceil((toMs - fromMs) / stepMs);
    if (count > MAX_POINTS) {
      throw new InvalidTimeRangeError(`the range holds ${count} buckets of ${bucket}; at most ${MAX_POINTS} (use a larger bucket)`);
    }
    const from = new Date(fromMs).toISOString();
    const to = new Date(toMs).toISOString();
    const interval = `${BUCKETS[bucket]} minutes`;

    const [{ version }]: { version: string }[] = await m.query(`SELECT version FROM "${S}".projection_state WHERE id = 1`);
    const counts: { at: Date; placed: string; confirmed: string; rejected: string; cancelled: string; revenue_cents: string }[] =
      await m.query(
        `SELECT date_bin($3::interval, minute, $4::timestamptz) AS at, sum(placed) AS placed, sum(confirmed) AS confirmed,
                sum(rejected) AS rejected, sum(cancelled) AS cancelled, sum(revenue_cents) AS revenue_cents
         FROM "${S}".minute_buckets WHERE minute >= $1 AND minute < $2 GROUP BY 1`,
        [from, to, interval, EPOCH],
      );
    const latencies: { at: Date; decided: number; p: (number | null)[] }[] = await m.query(
      `SELECT date_bin($3::interval, decided_at, $4::timestamptz) AS at, count(*)::int AS decided,
              percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY latency_ms) AS p
       FROM "${S}".order_facts WHERE decided_at >= $1 AND decided_at < $2 GROUP BY 1`,
      [from, to, interval, EPOCH],
    );

    const byAt = new Map(counts.map((c) => [c.at.getTime(), c]));
    const latencyByAt = new Map(latencies.map((l) => [l.at.getTime(), l]));
    const ms = (v: number | null | undefined) => (v == null ? null : Math.round(Number(v)));
    const points: TimeseriesPoint[] = [];
    for (let at = fromMs; at < toMs; at += stepMs) {
      const c = byAt.get(at);
      const l = latencyByAt.get(at);
      points.push({
        at: new Date(at).toISOString(),
        placed: Number(c?.placed ?? 0),
        confirmed: Number(c?.confirmed ?? 0),
        rejected: Number(c?.rejected ?? 0),
        cancelled: Number(c?.cancelled ?? 0),
        revenueCents: Number(c?.revenue_cents ?? 0),
        latency: { decided: l?.decided ?? 0, p50Ms: ms(l?.p[0]), p95Ms: ms(l?.p[1]), p99Ms: ms(l?.p[2]) },
      });
    }
    return { version: Number(version), from, to, bucket, points };
  }
}
