import { Kafka } from 'kafkajs';
import { expectEventually } from '../support/eventually';
import { placedEnvelope, publish, readToEnd, testKafka } from '../support/kafka';
import { createTestStack, startTestApp, TestApp, TestStack } from '../support/test-app';
import { query } from '../support/test-database';

/**
 * A sold-out product keeps getting orders (the order module does not know stock). In a consumer
 * run, stock is taken optimistically and checked at commit, so each run holding such an order used
 * to fail at commit and handle all its events again one by one. Now the warehouse remembers what
 * it found short and refuses those orders inside the run.
 */
describe('warehouse runs while a product is sold out', () => {
  let stack: TestStack;
  let app: TestApp;
  let kafka: Kafka;

  beforeAll(async () => {
    stack = await createTestStack('soldout');
    // The warehouse alone: the orders come straight from the test, as the order module would publish them.
    app = await startTestApp(stack, { MODULES: 'warehouse' });
    kafka = testKafka(stack.brokers);
    for (const [sku, stock] of [['PLENTY', 100_000], ['SOLD', 1]] as const) {
      await app.http.post('/products').set(app.admin).send({ sku, name: sku, priceCents: 100, stock }).expect(201);
    }
  });

  afterAll(async () => {
    await app?.close();
    await stack?.drop();
  });

  const commitFallbacks = async (): Promise<number> => {
    const res = await app.http.get('/metrics').expect(200);
    const line = (res.text as string).split('\n').find((l) => l.startsWith('kafka_batch_fallbacks_total{') && l.includes('module="warehouse"') && l.includes('stage="commit"'));
    return line ? Number(line.split(' ').pop()) : 0;
  };

  const statuses = async (ids: string[]) =>
    Object.fromEntries(
      (await query<{ order_id: string; status: string }>(stack.databaseUrl, 'SELECT order_id, status FROM warehouse.reservations WHERE order_id = ANY($1::uuid[])', [ids])).map(
        (r) => [r.order_id, r.status],
      ),
    );

  it('refuses the orders for it inside the runs: after the run that found it short, no run falls back, and every order is decided as before', async () => {
    const waves = 12;
    const decided: Record<string, 'RESERVED' | 'REJECTED'> = {};
    for (let wave = 0; wave < waves; wave++) {
      // Nine orders for what is there, then one for what is not (the first of them takes the last SOLD).
      const orders = Array.from({ length: 10 }, (_, i) => placedEnvelope({ sku: i === 9 ? 'SOLD' : 'PLENTY', quantity: 1 }));
      await publish(kafka, `${stack.prefix}order.placed`, orders.map((e) => ({ key: e.payload.orderId, value: e })));
      for (const [i, e] of orders.entries()) decided[e.payload.orderId] = i === 9 && wave > 0 ? 'REJECTED' : 'RESERVED';
      // Each wave is consumed before the next is sent: one run (or a few) per wave.
      const ids = orders.map((e) => e.payload.orderId);
      await expectEventually(async () => expect(Object.keys(await statuses(ids))).toHaveLength(ids.length), 30_000, 50);
    }
    expect(await statuses(Object.keys(decided))).toEqual(decided);
    const [sold] = await query<{ available: number; reserved: number }>(stack.databaseUrl, `SELECT available, reserved FROM warehouse.products WHERE sku = 'SOLD'`);
    expect(sold).toEqual({ available: 0, reserved: 1 });
    // Each refusal announced once, as on the one-by-one path.
    const rejected = await expectEventually(async () => {
      const read = (await readToEnd(kafka, [`${stack.prefix}stock.rejected`])).map((r) => JSON.parse(r.message.value!.toString()).payload);
      expect(read).toHaveLength(waves - 1);
      return read;
    });
    const refused = Object.entries(decided).filter(([, s]) => s === 'REJECTED').map(([id]) => id);
    expect(rejected.map((p) => [p.orderId, p.reason, p.skus]).sort()).toEqual(refused.map((id) => [id, 'OUT_OF_STOCK', ['SOLD']]).sort());
    // The run that first met the shortage fell back (and maybe one more in flight beside it); none after.
    expect(await commitFallbacks()).toBeLessThanOrEqual(2);
  });
});
