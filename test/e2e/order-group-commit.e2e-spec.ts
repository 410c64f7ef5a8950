import { DataSource } from 'typeorm';
import { OrderInitial1764000000000 } from '../../src/modules/order/migrations/1764000000000-order-initial';
import { PlaceOrderService } from '../../src/modules/order/place-order/place-order.service';
import { Outbox } from '../../src/platform/kafka/outbox';
import { createModuleDatabase, query } from '../support/test-database';

/** Group commit of POST /orders against Postgres: the service alone, its batches formed in process. */
describe('group commit of orders', () => {
  let db: Awaited<ReturnType<typeof createModuleDatabase>>;
  let ds: DataSource;

  beforeAll(async () => {
    db = await createModuleDatabase('groupcommit', 'orders', [OrderInitial1764000000000]);
    ds = db.dataSource;
    await query(db.url, `INSERT INTO orders.catalogue (sku, name, price_cents, updated_at) VALUES ('MUG', 'Mug', 1200, now())`);
  });

  afterAll(async () => db?.drop());

  it('two batches claiming the same Idempotency-Keys in opposite orders do not deadlock (claims slowed by a trigger)', async () => {
    // Each claim of these keys takes 300 ms: both batches hold their first key when they ask for their second.
    await query(
      db.url,
      `CREATE FUNCTION orders.slow_claim() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN IF NEW.key LIKE 'slow-%' THEN PERFORM pg_sleep(0.3); END IF; RETURN NEW; END $$;
       CREATE TRIGGER slow_claim BEFORE INSERT ON orders.idempotency_keys FOR EACH ROW EXECUTE FUNCTION orders.slow_claim()`,
    );
    const settings: Record<string, number> = {
      IDEMPOTENCY_KEY_TTL_MS: 86_400_000,
      ORDER_MAX_PENDING: 100,
      ORDER_GROUP_COMMIT_WINDOW_MS: 50,
      ORDER_GROUP_COMMIT_MAX: 2, // a batch flushes as soon as it holds two orders
      DATABASE_POOL_SIZE: 4, // two batches at a time
    };
    const service = new PlaceOrderService(ds, new Outbox('orders', 'order'), { get: (k: string) => settings[k] } as never);
    const failed: unknown[] = [];
    const transaction = ds.transaction.bind(ds) as (...args: unknown[]) => Promise<unknown>;
    jest.spyOn(ds, 'transaction').mockImplementation(((...args: unknown[]) =>
      transaction(...args).catch((e: unknown) => {
        failed.push(e);
        throw e;
      })) as never);

    const order = (quantity: number) => ({ customerEmail: 'ada@example.com', items: [{ sku: 'MUG', quantity }] });
    // Batch one claims slow-1 then slow-2; batch two, the same requests sent again, slow-2 then slow-1.
    const answers = await Promise.all([
      service.place(order(1), 'r1', 'slow-1'),
      service.place(order(2), 'r2', 'slow-2'),
      service.place(order(2), 'r3', 'slow-2'),
      service.place(order(1), 'r4', 'slow-1'),
    ]);

    expect(failed.map((e) => (e as { code?: string }).code ?? String(e))).toEqual([]);
    expect(answers.map((a) => a.statusCode)).toEqual([201, 201, 201, 201]);
    expect(answers[3].body.id).toBe(answers[0].body.id);
    expect(answers[2].body.id).toBe(answers[1].body.id);
    const [{ n }] = await query<{ n: number }>(db.url, 'SELECT count(*)::int AS n FROM orders.orders');
    expect(n).toBe(2);
  });
});
