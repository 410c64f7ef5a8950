import { createHash } from 'node:crypto';
import { EntityManager } from 'typeorm';
import { IdempotencyKeyReusedError } from '../order.errors';
import { ORDER_SCHEMA } from '../order.schema';

export interface StoredResponse {
  statusCode: number;
  body: unknown;
}

/** A stable hash of a request body: same fields and values, same hash, whatever the key order. */
export function requestHash(body: unknown): string {
  const canonical = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(canonical)
      : v && typeof v === 'object'
        ? Object.fromEntries(
            Object.keys(v)
              .sort()
              .map((k) => [k, canonical((v as Record<string, unknown>)[k])]),
          )
        : v;
  return createHash('sha256').update(JSON.stringify(canonical(body))).digest('hex');
}

/**
 * Claims an Idempotency-Key inside the order's transaction. Returns the stored response when the
 * key was already used for the same body (a retry), undefined when this request now owns the key.
 * A concurrent request with the same key waits on our row and then sees our response.
 */
export async function claimIdempotencyKey(
  m: EntityManager,
  key: string,
  hash: string,
  ttlMs: number,
): Promise<StoredResponse | undefined> {
  const inserted: unknown[] = await m.query(
    `INSERT INTO "${ORDER_SCHEMA}".idempotency_keys (key, request_hash, status_code, response, expires_at)
     VALUES ($1, $2, 0, 'null', now() + $3 * interval '1 millisecond') ON CONFLICT (key) DO NOTHING RETURNING 1`,
    [key, hash, ttlMs],
  );
  if (inserted.length === 1) return undefined;
  const [row]: ({ request_hash: string; status_code: number; response: unknown; expired: boolean } | undefined)[] = await m.query(
    `SELECT request_hash, status_code, response, expires_at <= now() AS expired
     FROM "${ORDER_SCHEMA}".idempotency_keys WHERE key = $1 FOR UPDATE`,
    [key],
  );
  // Expired and deleted by forgetExpiredKeys between the two statements: the key is free again.
  if (!row) return claimIdempotencyKey(m, key, hash, ttlMs);
  if (row.expired) {
    await m.query(
      `UPDATE "${ORDER_SCHEMA}".idempotency_keys
       SET request_hash = $2, status_code = 0, response = 'null', expires_at = now() + $3 * interval '1 millisecond'
       WHERE key = $1`,
      [key, hash, ttlMs],
    );
    return undefined;
  }
  if (row.request_hash !== hash) throw new IdempotencyKeyReusedError();
  return { statusCode: row.status_code, body: row.response };
}

export async function storeIdempotentResponse(m: EntityManager, key: string, response: StoredResponse): Promise<void> {
  await m.query(`UPDATE "${ORDER_SCHEMA}".idempotency_keys SET status_code = $2, response = $3 WHERE key = $1`, [
    key,
    response.statusCode,
    JSON.stringify(response.body),
  ]);
}

/**
 * Deletes keys past their time to live, oldest first, at most `limit` (rows a request holds are
 * skipped); returns how many. An expired key is already free for a new request, so this only keeps
 * the table from growing with every keyed order.
 */
export async function forgetExpiredKeys(m: EntityManager, limit: number): Promise<number> {
  // TypeORM answers a DELETE with [rows, affected count].
  const [, deleted]: [unknown[], number] = await m.query(
    `DELETE FROM "${ORDER_SCHEMA}".idempotency_keys WHERE key IN (
       SELECT key FROM "${ORDER_SCHEMA}".idempotency_keys WHERE expires_at < now()
       ORDER BY expires_at LIMIT $1 FOR UPDATE SKIP LOCKED)`,
    [limit],
  );
  return deleted;
}
