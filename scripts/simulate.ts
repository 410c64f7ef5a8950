// Demo load: creates demo products if missing, then places random orders through the REST API at a
// steady rate for a bounded time — some for scarce stock (rejected), some cancelled afterwards — so
// the dashboard (http://127.0.0.1:3000/dashboard) moves. Stops by itself; progress on stderr.
//
//   npm run simulate -- --rate 50 --duration 60 [--url http://127.0.0.1:3000] [--token $ADMIN_TOKEN]
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';

const PRODUCTS = [
  { sku: 'DEMO-MUG', name: 'Demo mug', priceCents: 1200, stock: 100_000 },
  { sku: 'DEMO-TEE', name: 'Demo T-shirt', priceCents: 2500, stock: 100_000 },
  { sku: 'DEMO-CAP', name: 'Demo cap', priceCents: 1800, stock: 100_000 },
  { sku: 'DEMO-BAG', name: 'Demo tote bag', priceCents: 900, stock: 100_000 },
  // Scarce: runs out within seconds, so rejections show up too.
  { sku: 'DEMO-LAMP', name: 'Demo lamp (limited)', priceCents: 7900, stock: 20 },
];
const CANCEL_SHARE = 0.1;
const SCARCE_SHARE = 0.08;
const MAX_IN_FLIGHT = 64;

function fail(message: string): never {
  process.stderr.write(`${message}\nusage: npm run simulate -- --rate <orders/s, 1-1000> --duration <s, 1-3600> [--url URL] [--token ADMIN_TOKEN]\n`);
  process.exit(2);
}

function bounded(raw: string | undefined, name: string, fallback: number, max: number): number {
  const n = raw === undefined ? fallback : Number(raw);
  if (!Number.isFinite(n) || n <= 0 || n > max) fail(`--${name} must be a number in (0, ${max}]`);
  return n;
}

async function main(): Promise<void> {
  if (existsSync('.env')) process.loadEnvFile('.env');
  const { values } = parseArgs({
    options: { rate: { type: 'string' }, duration: { type: 'string' }, url: { type: 'string' }, token: { type: 'string' } },
  });
  const rate = bounded(values.rate, 'rate', 20, 1000);
  const duration = bounded(values.duration, 'duration', 60, 3600);
  const base = (values.url ?? `http://127.0.0.1:${process.env.PORT ?? 3000}`).replace(/\/$/, '');
  const token = values.token ?? process.env.ADMIN_TOKEN ?? 'change-me-admin-token';

  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    return { status: res.status, body: (await res.json().catch(() => ({}))) as Record<string, unknown> };
  };

  // Products: created once; an existing one is left as it is (its stock keeps what earlier runs sold).
  for (const p of PRODUCTS) {
    const existing = await fetch(`${base}/products/${p.sku}`, { signal: AbortSignal.timeout(10_000) }).catch((e: unknown) => fail(`cannot reach ${base}: ${String(e)}`));
    if (existing.status === 200) continue;
    const created = await call('POST', '/products', p, { authorization: `Bearer ${token}` });
    if (created.status !== 201 && created.status !== 200) fail(`POST /products ${p.sku} answered ${created.status}: ${JSON.stringify(created.body)}`);
  }
  // Orders can only be priced once the order module's catalogue replica has the products.
  const deadline = Date.now() + 30_000;
  for (;;) {
    const probe = await call('POST', '/orders', { customerEmail: 'probe@example.com', items: [{ sku: PRODUCTS[0].sku, quantity: 1 }] });
    if (probe.status === 201) break;
    if (Date.now() > deadline) fail(`orders are not accepted yet (${probe.status}: ${JSON.stringify(probe.body)})`);
    await new Promise((r) => setTimeout(r, 500));
  }

  const total = Math.round(rate * duration);
  const stats = { sent: 0, accepted: 0, failed: 0, cancelled: 0 };
  const started = Date.now();
  let inFlight = 0;
  let warnedThrottled = false;
  const progress = () => {
    const s = ((Date.now() - started) / 1000).toFixed(0);
    process.stderr.write(
      `\r${s}s/${duration}s  placed ${stats.accepted}/${total}  cancelled ${stats.cancelled}  failed ${stats.failed}  in flight ${inFlight}   `,
    );
  };
  const ticker = setInterval(progress, 500);

  const placeOne = async () => {
    inFlight++;
    try {
      const scarce = Math.random() < SCARCE_SHARE;
      const pool = scarce ? PRODUCTS.slice(-1) : PRODUCTS.slice(0, -1);
      const lines = new Map<string, number>();
      for (let i = 0, n = 1 + Math.floor(Math.random() * 3); i < n; i++) {
        const p = pool[Math.floor(Math.random() * pool.length)];
        lines.set(p.sku, Math.min(10, (lines.get(p.sku) ?? 0) + 1 + Math.floor(Math.random() * 3)));
      }
      const res = await call(
        'POST',
        '/orders',
        { customerEmail: `demo-${Math.floor(Math.random() * 500)}@example.com`, items: [...lines].map(([sku, quantity]) => ({ sku, quantity })) },
        { 'idempotency-key': randomUUID() },
      );
      if (res.status !== 201) {
        stats.failed++;
        if (res.status === 429 && !warnedThrottled) {
          warnedThrottled = true;
          process.stderr.write(
            `\nthe app rate-limits this client (429): restart it with RATE_LIMIT_MAX above ${Math.ceil(rate * 60 * 1.2)} for this rate\n`,
          );
        }
        return;
      }
      stats.accepted++;
      if (Math.random() < CANCEL_SHARE) {
        // Some right away (still PENDING), some a moment later (usually CONFIRMED by then).
        await new Promise((r) => setTimeout(r, Math.random() < 0.5 ? 0 : 1500));
        const cancel = await call('POST', `/orders/${String(res.body.id)}/cancel`);
        if (cancel.status === 200) stats.cancelled++;
      }
    } catch {
      stats.failed++;
    } finally {
      inFlight--;
    }
  };

  // A steady rate with a cap on requests in flight, so a slow server is not buried.
  const pending: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = started + (i * 1000) / rate;
    const wait = due - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    if (Date.now() - started > duration * 1000 + 5000) break;
    while (inFlight >= MAX_IN_FLIGHT) await new Promise((r) => setTimeout(r, 5));
    stats.sent++;
    pending.push(placeOne());
  }
  await Promise.all(pending);
  clearInterval(ticker);
  progress();
  process.stderr.write(`\ndone: ${stats.accepted} orders placed, ${stats.cancelled} cancelled, ${stats.failed} failed — see ${base}/dashboard\n`);
  if (stats.accepted === 0) process.exit(1);
}

main().catch((e: unknown) => {
  process.stderr.write(`\nsimulate failed: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
