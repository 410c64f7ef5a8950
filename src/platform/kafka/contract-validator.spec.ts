import { plainToInstance, Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Matches, Min, validateSync } from 'class-validator';
import fc from 'fast-check';
import { EventEnvelopeSchema, EVENTS, EventType } from '../../contracts';
import { EXAMPLE_ORDER_ID, examples } from '../../contracts/contract-examples';
import { compileContract, validateContract } from './contract-validator';

type Cls = new () => object;

/** class-validator's own verdict, as the transport used to reach it for every event (a throw is a rejection). */
function slowAccepts(cls: Cls, value: unknown): boolean {
  try {
    return validateSync(plainToInstance(cls, value) as object, { forbidUnknownValues: false }).length === 0;
  } catch {
    return false;
  }
}

const envelope = {
  eventId: '8a1c4f5e-8a2b-4c3d-9e0f-112233445566',
  type: 'order.placed',
  version: 1,
  occurredAt: '2026-01-01T00:00:00.000Z',
  key: EXAMPLE_ORDER_ID,
  correlationId: 'c-1',
  causationId: 'c-1',
  producer: 'order',
  payload: examples['order.placed'],
};

/** Values that sit on the edges of the contracts' rules. */
const edgy = fc.oneof(
  fc.constantFrom(null, undefined, '', ' ', 0, -1, 1, 1.5, 1001, '1', '2026-01-01', '2026-13-01T00:00:00Z', 'not-an-email', 'a@b'),
  fc.constantFrom(EXAMPLE_ORDER_ID, EXAMPLE_ORDER_ID.toUpperCase(), 'SKU-1', 'bad sku', 'X'.repeat(65), [], {}, [{}], [null], ['SKU-1'], [1]),
  fc.constantFrom({ sku: 'SKU-1', quantity: 0, unitPriceCents: 1 }, { sku: 'SKU-1', quantity: 2 }, { sku: 'SKU-1', quantity: 2, unitPriceCents: 1 }),
  fc.anything({ maxDepth: 2 }),
);

/** A valid value with one field (possibly nested in an array element) replaced, removed or added. */
function mutated(valid: Record<string, unknown>): fc.Arbitrary<unknown> {
  const keys = Object.keys(valid);
  return fc.oneof(
    fc.record({ key: fc.constantFrom(...keys), value: edgy }).map(({ key, value }) => ({ ...valid, [key]: value })),
    fc.constantFrom(...keys).map((key) => {
      const copy = { ...valid };
      delete copy[key];
      return copy;
    }),
    fc.record({ key: fc.string({ maxLength: 6 }), value: edgy }).map(({ key, value }) => ({ ...valid, [key]: value })),
    fc
      .record({ key: fc.constantFrom(...keys), inner: fc.string({ maxLength: 16 }), value: edgy })
      .map(({ key, inner, value }) => {
        const v = valid[key];
        if (!Array.isArray(v) || typeof v[0] !== 'object') return { ...valid, [key]: value };
        const field = Object.keys(v[0] as object).find((k) => k.startsWith(inner.slice(0, 1))) ?? inner;
        return { ...valid, [key]: [{ ...(v[0] as object), [field]: value }, ...v.slice(1)] };
      }),
    fc.constant(valid),
    edgy,
  );
}

describe('compiled contract validators', () => {
  it.each(Object.keys(EVENTS) as EventType[])('%s: the fast check accepts the valid example on its own', (type) => {
    expect(compileContract(EVENTS[type].payload as Cls)(examples[type])).toBe(true);
  });

  it('the envelope: the fast check accepts a valid envelope on its own', () => {
    expect(compileContract(EventEnvelopeSchema)(envelope)).toBe(true);
  });

  it.each(Object.keys(EVENTS) as EventType[])('%s: never accepts what class-validator rejects (2,000 mutated payloads)', (type) => {
    const cls = EVENTS[type].payload as Cls;
    let rejected = 0;
    fc.assert(
      fc.property(mutated(examples[type] as Record<string, unknown>), (value) => {
        const fast = compileContract(cls)(value);
        const slow = slowAccepts(cls, value);
        if (!slow) rejected++;
        // One-sided: fast true implies class-validator true. Where fast says false the caller asks class-validator.
        return !fast || slow;
      }),
      { numRuns: 2000 },
    );
    expect(rejected).toBeGreaterThan(200); // the mutations do reach the rules
  });

  it('the envelope: never accepts what class-validator rejects, and converts like class-transformer when unsure', () => {
    fc.assert(
      fc.property(mutated(envelope), (value) => !compileContract(EventEnvelopeSchema)(value) || slowAccepts(EventEnvelopeSchema, value)),
      { numRuns: 3000 },
    );
    // version "1" is converted by @Type(() => Number): the fast check leaves it to class-transformer.
    expect(compileContract(EventEnvelopeSchema)({ ...envelope, version: '1' })).toBe(false);
    expect(validateContract(EventEnvelopeSchema, { ...envelope, version: '1' })).toMatchObject({ value: { version: 1 }, failed: [] });
  });

  it('answers with class-validator’s failing properties when a value does not pass', () => {
    const bad = { ...examples['order.placed'], totalCents: -1, customerEmail: 'nope' };
    expect(validateContract(EVENTS['order.placed'].payload as Cls, bad).failed.sort()).toEqual(['customerEmail', 'totalCents']);
  });

  it('leaves classes it does not fully understand to class-validator, and honours @IsOptional', () => {
    class Optional {
      @IsOptional()
      @IsString()
      @Matches(/^a/)
      note?: string;

      @Type(() => Number)
      @IsInt()
      @Min(0)
      n: number;
    }
    const check = compileContract(Optional);
    expect(check({ n: 1 })).toBe(true);
    expect(check({ n: 1, note: null })).toBe(true);
    expect(check({ n: 1, note: 'abc' })).toBe(true);
    expect(check({ n: 1, note: 'b' })).toBe(false);
    expect(check({ n: '1' })).toBe(false); // converted by class-transformer first: not judged here
    expect(check({ n: -1 })).toBe(false);
    expect(check(null)).toBe(false);
    expect(check([])).toBe(false);
  });
});
