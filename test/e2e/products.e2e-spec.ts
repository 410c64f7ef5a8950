import { Client } from 'pg';
import { expectEventually } from '../support/eventually';
import { createProduct, orderReaches, placeOrder } from '../support/shop';
import { createTestStack, startTestApp, TestApp, TestStack } from '../support/test-app';
import { query } from '../support/test-database';

/** The warehouse's admin API for products: what an update may and may not change. */
describe('products: upsert and restock', () => {
  let stack: TestStack;
  let app: TestApp;

  beforeAll(async () => {
    stack = await createTestStack('products');
    app = await startTestApp(stack);
  });

  afterAll(async () => {
    await app?.close();
    await stack?.drop();
  });

  const product = async (sku: string) => (await app.http.get(`/products/${sku}`).expect(200)).body;

  it('changes a name and price without touching stock or reservations when stock is omitted; a new product without stock starts at 0', async () => {
    await createProduct(app, stack, 'MUG', 10);
    const order = await placeOrder(app, [{ sku: 'MUG', quantity: 8 }]);
    await orderReaches(app, order.id, 'CONFIRMED');
    await app.http.post('/products').set(app.admin).send({ sku: 'MUG', name: 'Blue mug', priceCents: 1500 }).expect(200);
    expect(await product('MUG')).toMatchObject({ name: 'Blue mug', priceCents: 1500, available: 2, reserved: 8 });

    await app.http.post('/products').set(app.admin).send({ sku: 'CUP', name: 'Cup', priceCents: 300 }).expect(201);
    expect(await product('CUP')).toMatchObject({ available: 0, reserved: 0 });
    // Left out is not the same as null: null is not a stock.
    const nullStock = await app.http.post('/products').set(app.admin).send({ sku: 'CUP', name: 'Cup', priceCents: 300, stock: null }).expect(400);
    expect(JSON.stringify(nullStock.body.message)).toContain('stock');
  });

  it('restocks and writes off, and refuses going below zero or past what the stock columns hold with 409 and a message', async () => {
    await createProduct(app, stack, 'BOWL', 5);
    expect((await app.http.patch('/products/BOWL/stock').set(app.admin).send({ delta: 3 }).expect(200)).body).toMatchObject({ available: 8 });
    const below = await app.http.patch('/products/BOWL/stock').set(app.admin).send({ delta: -9 }).expect(409);
    expect(below.body.message).toContain('would make it negative');
    for (let i = 0; i < 21; i++) await app.http.patch('/products/BOWL/stock').set(app.admin).send({ delta: 100_000_000 }).expect(200);
    const past = await app.http.patch('/products/BOWL/stock').set(app.admin).send({ delta: 100_000_000 }).expect(409);
    expect(past.body.message).toContain('would pass the limit');
    expect(await product('BOWL')).toMatchObject({ available: 2_100_000_008 });
  });

  it('lists every product once across pages, by SKU, and refuses a bad cursor or limit with 400', async () => {
    const skus = ['PAGE-01', 'PAGE-02', 'PAGE-03', 'PAGE-04', 'PAGE-05'];
    for (const sku of skus) await app.http.post('/products').set(app.admin).send({ sku, name: sku, priceCents: 100 }).expect(201);
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let pages = 0; pages < 20; pages++) {
      const query: Record<string, string> = cursor ? { limit: '2', cursor } : { limit: '2' };
      const { items, nextCursor } = (await app.http.get('/products').query(query).expect(200)).body as { items: { sku: string }[]; nextCursor: string | null };
      expect(items.length).toBeLessThanOrEqual(2);
      seen.push(...items.map((i) => i.sku));
      cursor = nextCursor;
      if (!cursor) break;
    }
    expect(cursor).toBeNull();
    // Whatever the earlier tests created, in SKU order, each once, with every PAGE- product.
    expect(seen).toEqual([...new Set(seen)].sort());
    expect(seen.filter((sku) => sku.startsWith('PAGE-'))).toEqual(skus);
    const all = (await app.http.get('/products').expect(200)).body as { items: { sku: string }[]; nextCursor: string | null };
    expect(all.items.map((i) => i.sku)).toEqual(seen);
    expect(all.nextCursor).toBeNull();

    expect((await app.http.get('/products').query({ cursor: "x' OR 1=1" }).expect(400)).body.message.join()).toContain('cursor');
    await app.http.get('/products').query({ limit: '0' }).expect(400);
    await app.http.get('/products').query({ limit: '1001' }).expect(400);
  });

  it('keeps the price a product change committed last in the order catalogue, when it began before a restock that committed first (the delay injected by a trigger that waits on a gate)', async () => {
    await createProduct(app, stack, 'RACE', 10, 100);
    // A price change to 777 waits on the gate after its transaction began and before it locks the row.
    await query(
      stack.databaseUrl,
      `CREATE FUNCTION warehouse.price_gate() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF NEW.price_cents = 777 THEN PERFORM pg_advisory_xact_lock(hashtext('price-gate')); END IF;
         RETURN NEW;
       END $$;
       CREATE TRIGGER price_gate BEFORE INSERT ON warehouse.products FOR EACH ROW EXECUTE FUNCTION warehouse.price_gate()`,
    );
    const gate = new Client({ connectionString: stack.databaseUrl });
    await gate.connect();
    try {
      await gate.query('BEGIN');
      await gate.query(`SELECT pg_advisory_xact_lock(hashtext('price-gate'))`);
      const change = app.http.post('/products').set(app.admin).send({ sku: 'RACE', name: 'Race', priceCents: 777 }).then((r) => r);
      await expectEventually(async () => {
        expect(await query(stack.databaseUrl, `SELECT 1 FROM pg_stat_activity WHERE wait_event = 'advisory' AND query LIKE '%INSERT INTO "warehouse".products%'`)).toHaveLength(1);
      });
      // Meanwhile a restock begins, commits and publishes the old price first.
      await app.http.patch('/products/RACE/stock').set(app.admin).send({ delta: 5 }).expect(200);
      await gate.query('COMMIT');
      expect((await change).status).toBe(200);
    } finally {
      await gate.end();
      await query(stack.databaseUrl, 'DROP TRIGGER price_gate ON warehouse.products; DROP FUNCTION warehouse.price_gate()');
    }
    expect(await product('RACE')).toMatchObject({ priceCents: 777, available: 15 });
    // Both events reach the order module, in commit order: the price change is the one it keeps.
    await expectEventually(async () => {
      const [row] = await query<{ price_cents: number; available: number }>(
        stack.databaseUrl,
        `SELECT c.price_cents, (SELECT available FROM warehouse.products WHERE sku = 'RACE') AS available FROM orders.catalogue c WHERE c.sku = 'RACE'`,
      );
      expect(row).toEqual({ price_cents: 777, available: 15 });
    }, 10_000);
  });
});
