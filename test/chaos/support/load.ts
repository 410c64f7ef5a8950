import { randomUUID } from 'node:crypto';

export interface LoadOptions {
  /** Orders to place (each with its own Idempotency-Key). */
  count: number;
  perSecond: number;
  /** Where to send; called per attempt, so a test can add or remove instances while it runs. */
  urls: () => string[];
  /** Picks an order's lines (index → items). */
  items: (i: number) => { sku: string; quantity: number }[];
  /** Share of accepted orders the load then cancels (exercises the release path). */
  cancelShare?: number;
  /** A client gives up on an order after this long without a 201 (bounds the run). */
  giveUpAfterMs?: number;
}

export interface LoadResult {
  sent: number;
  /** Ids answered 201: these must never be lost. */
  accepted: string[];
  /** Orders whose every attempt failed within giveUpAfterMs (never acknowledged). */
  gaveUp: number;
  /** Attempts that failed (connection refused, reset, 5xx) and were retried with the same key. */
  retriedAttempts: number;
  cancelRequested: string[];
  durationMs: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A bounded stream of orders at a fixed rate, like well-behaved clients: each order keeps its
 * Idempotency-Key across retries, so an attempt cut by a crash is retried without doubling it.
 */
export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const started = Date.now();
  const result: LoadResult = { sent: o.count, accepted: [], gaveUp: 0, retriedAttempts: 0, cancelRequested: [], durationMs: 0 };
  const giveUpAfter = o.giveUpAfterMs ?? 60_000;
  let rr = 0;
  const next = () => {
    const urls = o.urls();
    return urls[rr++ % urls.length];
  };

  const placeOne = async (i: number) => {
    const key = `chaos-${randomUUID()}`;
    const body = JSON.stringify({ customerEmail: `buyer${i}@example.com`, items: o.items(i) });
    const deadline = Date.now() + giveUpAfter;
    for (let attempt = 0; ; attempt++) {
      try {
        const res = await fetch(`${next()}/orders`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'idempotency-key': key },
          body,
          signal: AbortSignal.timeout(10_000),
        });
        const json = (await res.json().catch(() => ({}))) as { id?: string };
        if (res.status === 201 && json.id) {
          result.accepted.push(json.id);
          if (o.cancelShare && Math.random() < o.cancelShare) await cancel(json.id);
          return;
        }
        if (res.status < 500 && res.status !== 429) throw new Error(`POST /orders answered ${res.status}: ${JSON.stringify(json)}`);
      } catch (e) {
        if (e instanceof Error && e.message.startsWith('POST /orders answered')) throw e;
      }
      result.retriedAttempts++;
      if (Date.now() > deadline) {
        result.gaveUp++;
        return;
      }
      await sleep(Math.min(200 * 2 ** attempt, 2000));
    }
  };

  const cancel = async (id: string) => {
    // A cancel that fails (instance away) is simply not requested: the order then ends CONFIRMED/REJECTED.
    const res = await fetch(`${next()}/orders/${id}/cancel`, { method: 'POST', signal: AbortSignal.timeout(10_000) }).catch(() => undefined);
    if (res && res.status < 300) result.cancelRequested.push(id);
  };

  const inFlight: Promise<void>[] = [];
  const interval = 1000 / o.perSecond;
  for (let i = 0; i < o.count; i++) {
    inFlight.push(placeOne(i));
    const due = started + (i + 1) * interval;
    await sleep(Math.max(0, due - Date.now()));
  }
  await Promise.all(inFlight);
  result.durationMs = Date.now() - started;
  return result;
}
