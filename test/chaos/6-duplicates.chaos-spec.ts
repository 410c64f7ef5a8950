import { Partitioners } from 'kafkajs';
import { expectEventually } from '../support/eventually';
import { readTopics } from '../support/kafka';
import { groupLag, resetToEarliest } from './support/groups';
import { Scenario } from './support/scenario';

const MODULES = ['order', 'warehouse', 'email', 'analytics'];

describe('chaos 6: duplicated deliveries', () => {
  let s: Scenario;

  afterAll(async () => {
    await s?.dispose();
  });

  /** Everything the events caused, in a comparable form. */
  const snapshot = async () => ({
    orders: await s.query(`SELECT id, status, rejection_reason FROM orders.orders ORDER BY id`),
    history: await s.query(`SELECT count(*)::int AS n FROM orders.order_status_history`),
    products: await s.query(`SELECT sku, available, reserved FROM warehouse.products ORDER BY sku`),
    reservations: await s.query(`SELECT order_id, status FROM warehouse.reservations ORDER BY order_id`),
    mails: await s.query(`SELECT count(*)::int AS n FROM email.sent_mails`),
    inboxes: await Promise.all(['orders', 'warehouse', 'email', 'analytics'].map((m) => s.query(`SELECT count(*)::int AS n FROM "${m}".inbox`))),
  });

  it('leaves every state unchanged when a slice of each topic is republished and every group re-reads from the earliest offset', async () => {
    s = await Scenario.start('duplicates');
    const load = await s.load({ count: 150, perSecond: 30 });
    const first = await s.settle(load, Date.now()); // includes: every group caught up
    expect(first.report.violations).toEqual([]);
    const before = await snapshot();

    // Republish the first 40 messages of each event topic, byte for byte, as a misbehaving producer would.
    const topics = ['order.placed', 'order.confirmed', 'order.rejected', 'order.cancelled', 'stock.reserved', 'stock.rejected', 'stock.released'].map((t) => `${s.prefix}${t}`);
    const copies = await readTopics(s.kafka, topics, (ms) => ms.length >= 40 * 3, 15_000).catch(() => undefined);
    const slice = (copies ?? []).slice(0, 120);
    expect(slice.length).toBeGreaterThanOrEqual(100);
    const producer = s.kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    for (const m of slice) {
      await producer.send({ topic: m.topic, acks: -1, messages: [{ partition: m.partition, key: m.message.key, value: m.message.value, headers: m.message.headers }] });
    }
    await producer.disconnect();

    // Then stop the app, rewind every group to the beginning, and start it again.
    await s.app.stop('SIGTERM');
    for (const m of MODULES) expect((await resetToEarliest(s.kafka, `${s.prefix}${m}`)).length).toBeGreaterThan(0);
    await s.app.startReady();
    const restarted = Date.now();
    await expectEventually(async () => {
      for (const m of MODULES) expect({ group: m, lag: await groupLag(s.kafka, `${s.prefix}${m}`) }).toEqual({ group: m, lag: 0 });
    }, 120_000, 500);
    const settled = await s.settle(load, restarted);
    s.record(6, `republish ${slice.length} messages, reset all groups to earliest`, load, settled);
    expect(settled.report.violations).toEqual([]);
    expect(await snapshot()).toEqual(before);
  });
});
