import { expectEventually } from './eventually';
import { TestApp, TestStack } from './test-app';
import { query } from './test-database';

/** Creates a product through the admin API and waits until the order module's catalogue knows it. */
export async function createProduct(app: TestApp, stack: TestStack, sku: string, stock: number, priceCents = 1000): Promise<void> {
  await app.http.post('/products').set(app.admin).send({ sku, name: `Product ${sku}`, priceCents, stock }).expect(201);
  await expectEventually(async () => {
    const rows = await query(stack.databaseUrl, 'SELECT 1 FROM orders.catalogue WHERE sku = $1', [sku]);
    expect(rows).toHaveLength(1);
  });
}

export async function placeOrder(app: TestApp, items: { sku: string; quantity: number }[], customerEmail = 'ada@example.com') {
  const res = await app.http.post('/orders').send({ customerEmail, items });
  if (res.status !== 201) throw new Error(`POST /orders answered ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body as { id: string; status: string; totalCents: number };
}

/** Waits until the order reaches `status` and returns its details. */
export async function orderReaches(app: TestApp, id: string, status: string, timeoutMs = 20_000) {
  return expectEventually(async () => {
    const res = await app.http.get(`/orders/${id}`).expect(200);
    expect(res.body.status).toBe(status);
    return res.body;
  }, timeoutMs);
}
