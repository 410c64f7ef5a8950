import { createProduct, orderReaches, placeOrder } from '../support/shop';
import { createTestStack, startTestApp, TestApp, TestStack } from '../support/test-app';

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
});
