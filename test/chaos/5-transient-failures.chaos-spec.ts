import { mixedItems, Scenario } from './support/scenario';

const FLAKY = ['FLAKY1', 'FLAKY2', 'FLAKY3', 'FLAKY4', 'FLAKY5'];
/** Failures per flaky order: as many as the transport retries (KAFKA_HANDLER_RETRIES, 3 by default), so the last attempt succeeds. */
const FAILURES = 3;

describe('chaos 5: a handler fails transiently under load', () => {
  let s: Scenario;

  afterAll(async () => {
    await s?.dispose();
  });

  it(`processes an order whose reservation fails ${FAILURES} times exactly once after the retries`, async () => {
    s = await Scenario.start('transient', { extraStock: Object.fromEntries(FLAKY.map((sku) => [sku, 10])) });
    // The fault lives in the database, not the app: the first FAILURES reservations of each flaky SKU raise.
    // A sequence counts attempts because nextval survives the rollback of the failing transaction.
    for (const sku of FLAKY) await s.query(`CREATE SEQUENCE warehouse.chaos_attempts_${sku.toLowerCase()}`);
    await s.query(`
      CREATE FUNCTION warehouse.chaos_flaky() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE line jsonb; attempt bigint;
      BEGIN
        IF NEW.status <> 'RESERVED' THEN RETURN NEW; END IF;
        FOR line IN SELECT * FROM jsonb_array_elements(NEW.items) LOOP
          IF line->>'sku' LIKE 'FLAKY%' THEN
            attempt := nextval(format('warehouse.chaos_attempts_%s', lower(line->>'sku')));
            IF attempt <= ${FAILURES} THEN
              RAISE EXCEPTION 'chaos: transient failure % of ${FAILURES} for order %', attempt, NEW.order_id;
            END IF;
          END IF;
        END LOOP;
        RETURN NEW;
      END $$`);
    await s.query(`CREATE TRIGGER chaos_flaky BEFORE INSERT OR UPDATE ON warehouse.reservations FOR EACH ROW EXECUTE FUNCTION warehouse.chaos_flaky()`);

    // One order per flaky SKU, spread through an ordinary load.
    const every = 30;
    const items = (i: number) => (i % every === 5 && i / every < FLAKY.length ? [{ sku: FLAKY[Math.floor(i / every)], quantity: 2 }] : mixedItems(i));
    const result = await s.load({ count: 150, perSecond: 30, items, cancelShare: 0 });
    const settled = await s.settle(result, Date.now());
    s.record(5, `a reservation fails ${FAILURES}× (transiently) for 5 orders`, result, settled);
    expect(settled.report.violations).toEqual([]);
    for (const sku of FLAKY) {
      // FAILURES failed attempts, then the one that committed; a redelivery would stop at the inbox.
      const [{ last_value }] = await s.query<{ last_value: string }>(`SELECT last_value FROM warehouse.chaos_attempts_${sku.toLowerCase()}`);
      expect({ sku, attempts: Number(last_value) }).toEqual({ sku, attempts: FAILURES + 1 });
      const product = await s.query(`SELECT available, reserved FROM warehouse.products WHERE sku = $1`, [sku]);
      expect(product).toEqual([{ available: 8, reserved: 2 }]);
    }
  });
});
