import { Client } from 'pg';
import { expectEventually } from '../support/eventually';
import { createProduct, orderReaches, placeOrder } from '../support/shop';
import { createTestStack, startTestApp, TestApp, TestStack } from '../support/test-app';

/**
 * A handler blocked on a lock sends no heartbeat, and the broker puts its member out of the group
 * without kafkajs saying so: readiness must not keep calling that consumer joined.
 */
describe('readiness while a consumer is blocked', () => {
  let stack: TestStack;
  let app: TestApp;

  beforeAll(async () => {
    stack = await createTestStack('stall');
    app = await startTestApp(stack);
    await createProduct(app, stack, 'LOCKED', 10);
  });

  afterAll(async () => {
    await app?.close();
    await stack?.drop();
  });

  it("reports the warehouse's consumer stalled while its handler waits on a row lock, and joined again once the lock is gone", async () => {
    // Another session holds the product's row: the reservation waits for it (a shared run gives up
    // after its lock timeout and the event is handled alone, which waits as long as it takes).
    const holder = new Client({ connectionString: stack.databaseUrl });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query(`SELECT * FROM warehouse.products WHERE sku = 'LOCKED' FOR UPDATE`);
      const order = await placeOrder(app, [{ sku: 'LOCKED', quantity: 1 }]);
      const stalled = await expectEventually(async () => {
        const res = await app.http.get('/health/ready');
        expect(res.status).toBe(503);
        expect(res.body.error['consumer:warehouse']).toMatchObject({ status: 'down', state: 'stalled' });
        return res.body.error['consumer:warehouse'] as { message: string };
      }, 30_000, 500);
      expect(stalled.message).toContain('no fetch or heartbeat');
      expect((await app.http.get(`/orders/${order.id}`).expect(200)).body.status).toBe('PENDING');
      await holder.query('COMMIT');
      await orderReaches(app, order.id, 'CONFIRMED', 30_000);
      await expectEventually(async () => expect((await app.http.get('/health/ready')).status).toBe(200), 30_000, 500);
    } finally {
      await holder.end();
    }
  });
});
