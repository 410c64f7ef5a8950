import { plainToInstance, Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Matches, maxLength, Min, minLength, validateSync } from 'class-validator';
import fc from 'fast-check';
import isEmail from 'validator/lib/isEmail';
import isISO8601 from 'validator/lib/isISO8601';
import { EventEnvelopeSchema, EVENTS, EventType } from '../../contracts';
import { EXAMPLE_ORDER_ID, examples } from '../../contracts/contract-examples';
import { compileContract, hasMaxLength, hasMinLength, isCanonicalInstant, isPlainEmail, validateContract } from './contract-validator';

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

  it('fails an address with half a surrogate pair (JSON can spell one) instead of throwing, so the event is parked at once', () => {
    for (const customerEmail of ['a\ud800b@example.com', 'ada@b\udfff.example.com']) {
      const bad = { ...examples['order.placed'], customerEmail };
      expect(validateContract(EVENTS['order.placed'].payload as Cls, bad).failed).toEqual(['customerEmail']);
    }
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

  describe('fast accepts for the costliest validators are one-sided against validator.js', () => {
    const digit = fc.constantFrom(...'0123456789');
    /** `YYYY-MM-DDTHH:mm:ss.sssZ` shapes with any digits (invalid months, days, hours included), now and then one character changed. */
    const instantLike = fc.oneof(
      fc.date({ min: new Date('0001-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true }).map((d) => d.toISOString()),
      fc.array(digit, { minLength: 17, maxLength: 17 }).map((d) => `${d.slice(0, 4).join('')}-${d[4]}${d[5]}-${d[6]}${d[7]}T${d[8]}${d[9]}:${d[10]}${d[11]}:${d[12]}${d[13]}.${d[14]}${d[15]}${d[16]}Z`),
      fc
        .record({ d: fc.date({ noInvalidDate: true }), at: fc.nat(30), c: fc.constantFrom(...'0123456789-T:.Z +') })
        .map(({ d, at, c }) => {
          const s = d.toISOString();
          return s.slice(0, at) + c + s.slice(at + 1);
        }),
    );

    it('an instant: accepted only when isISO8601 accepts it, strict or not', () => {
      let accepted = 0;
      fc.assert(
        fc.property(instantLike, (v) => {
          if (!isCanonicalInstant(v)) return true;
          accepted++;
          return isISO8601(v, { strict: true }) && isISO8601(v) && isISO8601(v, { strict: true, strictSeparator: true });
        }),
        { numRuns: 5000 },
      );
      expect(accepted).toBeGreaterThan(1000); // the fast path is taken, so the property is exercised
      expect(isCanonicalInstant('2026-02-29T00:00:00.000Z')).toBe(false); // not a leap year
      expect(isCanonicalInstant('2024-02-29T00:00:00.000Z')).toBe(true);
    });

    /** Plain-looking addresses and near misses: empty atoms, edge hyphens, underscores, long labels, numeric or short TLDs. */
    const atom = fc.string({ unit: fc.constantFrom(...'abcXYZ09_+-'), maxLength: 12 });
    const label = fc.oneof(
      fc.string({ unit: fc.constantFrom(...'abXY09-_'), maxLength: 10 }),
      fc.integer({ min: 60, max: 66 }).map((n) => 'a'.repeat(n)),
    );
    const emailLike = fc.oneof(
      fc
        .record({
          user: fc.array(atom, { minLength: 1, maxLength: 4 }),
          host: fc.array(label, { minLength: 0, maxLength: 3 }),
          tld: fc.oneof(fc.constantFrom('com', 'co', 'c', 'x1', '12', 'xn--p1ai', 'a-b'), fc.string({ unit: fc.constantFrom(...'az'), maxLength: 64 })),
        })
        .map(({ user, host, tld }) => `${user.join('.')}@${[...host, tld].join('.')}`),
      fc.record({ n: fc.integer({ min: 55, max: 70 }), tail: fc.constantFrom('@example.com', '@a.co') }).map(({ n, tail }) => 'u'.repeat(n) + tail),
      fc.integer({ min: 240, max: 260 }).map((n) => `a@${'b.'.repeat(Math.floor((n - 5) / 2))}com`),
      fc.emailAddress(),
      fc.string({ maxLength: 300 }),
    );

    it('an e-mail address: accepted only when isEmail accepts it with its defaults', () => {
      let accepted = 0;
      fc.assert(
        fc.property(emailLike, (v) => {
          if (!isPlainEmail(v)) return true;
          accepted++;
          return isEmail(v);
        }),
        { numRuns: 5000 },
      );
      expect(accepted).toBeGreaterThan(500);
      expect(isPlainEmail(`${'a'.repeat(65)}@example.com`)).toBe(false); // the local part is at most 64
      expect(isPlainEmail('jane.doe+shop@mail.example.co')).toBe(true);
    });

    /** Short strings of plain letters, surrogates (paired or lone) and variation selectors, and the odd non-string. */
    const lengthy = fc.oneof(
      fc.string({ unit: fc.constantFrom('a', 'é', '\uD83D', '\uDE00', '\uD83D\uDE00', '\uFE0F', '\uFE0E', '\u2764'), maxLength: 6 }),
      fc.string({ maxLength: 6 }),
      edgy,
    );

    it('a length: accepted only when class-validator’s MinLength / MaxLength accept it', () => {
      let accepted = 0;
      fc.assert(
        fc.property(lengthy, fc.integer({ min: 0, max: 6 }), (v, bound) => {
          if (hasMinLength(v, bound)) {
            accepted++;
            if (!minLength(v, bound)) return false;
          }
          return !hasMaxLength(v, bound) || maxLength(v, bound);
        }),
        { numRuns: 5000 },
      );
      expect(accepted).toBeGreaterThan(500);
      expect(hasMinLength('\uD83D\uDE00', 2)).toBe(false); // one character in two code units: left to validator.js
      expect(hasMinLength('ab', 2)).toBe(true);
    });
  });
});
