import { BadRequestException } from '@nestjs/common';
import fc from 'fast-check';
import { strictValidationPipe } from '../../../platform/http/validation-pipe';
import { acceptPlaceOrder, PlaceOrderBodyPipe } from './place-order-body.pipe';
import { PlaceOrderDto } from './place-order.dto';
import { SKU_PATTERN } from '../../../contracts';

const body = { type: 'body' as const, metatype: Object, data: undefined };

/** What the strict pipe with PlaceOrderDto answers: the data it accepts, or the 400's messages. */
async function strictAnswer(value: unknown): Promise<{ ok: unknown } | { messages: unknown }> {
  try {
    const dto = await strictValidationPipe().transform(value, { ...body, metatype: PlaceOrderDto });
    return { ok: JSON.parse(JSON.stringify(dto)) };
  } catch (e) {
    return { messages: (e as BadRequestException).getResponse() };
  }
}

const sku = fc.oneof(fc.constantFrom('SKU-1', 'SKU-2', 'a.b_c', 'X'.repeat(64), 'X'.repeat(65), '', 'bad sku', 'ü'), fc.string({ maxLength: 8 }));
const quantity = fc.oneof(fc.integer({ min: -2, max: 1002 }), fc.constantFrom(0, 1, 1000, 1001, 1.5, '2', null, NaN, Infinity));
const item = fc.oneof(
  fc.record({ sku, quantity }, { noNullPrototype: true }),
  fc.record({ sku, quantity, extra: fc.constant(1) }, { noNullPrototype: true }),
  fc.record({ sku }, { requiredKeys: [], noNullPrototype: true }),
  fc.constantFrom(null, 1, 'x', []),
);
const email = fc.oneof(fc.emailAddress(), fc.constantFrom('not-an-email', '', `${'a'.repeat(250)}@b.co`, 'a@b', 7));
const randomBody = fc.oneof(
  fc.record({ customerEmail: email, items: fc.array(item, { maxLength: 4 }) }, { noNullPrototype: true }),
  fc.record({ customerEmail: email, items: fc.array(item, { maxLength: 3 }), coupon: fc.string() }, { noNullPrototype: true }),
  fc.record({ customerEmail: email, items: fc.oneof(fc.constant(null), fc.string()) }, { requiredKeys: [], noNullPrototype: true }),
  fc.constantFrom(null, [], 'text', 42),
);

/** A valid order: random bodies are almost never valid, so the fast path's acceptances need their own source. */
const validItems = fc.uniqueArray(fc.record({ sku: fc.stringMatching(SKU_PATTERN), quantity: fc.integer({ min: 1, max: 1000 }) }, { noNullPrototype: true }), {
  selector: (i) => i.sku,
  minLength: 1,
  maxLength: 5,
});
// Plain objects, as a JSON body parses to (fast-check's records have a null prototype unless told).
const validOrder = fc.record(
  { customerEmail: fc.constantFrom('ada@example.com', 'b.c+d@shop.example.org', `${'a'.repeat(64)}@example.com`), items: validItems },
  { noNullPrototype: true },
);

/** A valid order with at most one thing wrong: where a check that is too lax would show. */
const nearlyValid = fc.oneof(
  validOrder,
  fc.tuple(validOrder, email).map(([o, customerEmail]) => ({ ...o, customerEmail })),
  fc.tuple(validOrder, sku, fc.nat()).map(([o, s, n]) => ({ ...o, items: o.items.map((x, i) => (i === n % o.items.length ? { ...x, sku: s } : x)) })),
  fc.tuple(validOrder, quantity, fc.nat()).map(([o, q, n]) => ({ ...o, items: o.items.map((x, i) => (i === n % o.items.length ? { ...x, quantity: q } : x)) })),
  fc.tuple(validOrder, fc.nat()).map(([o, n]) => ({ ...o, items: [...o.items, o.items[n % o.items.length]] })),
  fc.tuple(validOrder, fc.string({ maxLength: 8 })).map(([o, k]) => ({ ...o, [k]: 1 })),
  fc.tuple(validOrder, fc.string({ maxLength: 8 })).map(([o, k]) => ({ ...o, items: [{ ...o.items[0], [k]: 1 }, ...o.items.slice(1)] })),
  fc.tuple(validOrder, fc.constantFrom(0, 101)).map(([o, n]) => ({ ...o, items: Array.from({ length: n }, (_, i) => ({ sku: `S${i}`, quantity: 1 })) })),
);
const anyBody = fc.oneof(randomBody, nearlyValid);

describe(PlaceOrderBodyPipe.name, () => {
  it('accepts only bodies PlaceOrderDto accepts, with the same data', async () => {
    let compared = 0;
    await fc.assert(
      fc.asyncProperty(anyBody, async (value) => {
        const fast = acceptPlaceOrder(value);
        if (fast === undefined) return;
        compared++;
        expect(await strictAnswer(value)).toEqual({ ok: fast });
      }),
      { numRuns: 2000 },
    );
    // A generator that seldom yields a valid order would let this pass having compared nothing.
    expect(compared).toBeGreaterThan(200);
  });

  it('takes the fast path for every valid order (so the strict pipe is the exception, not the rule)', () => {
    fc.assert(fc.property(validOrder, (order) => expect(acceptPlaceOrder(order)).toEqual(order)));
  });

  it('answers every body exactly as the strict pipe does (data or the same 400 messages)', async () => {
    const pipe = new PlaceOrderBodyPipe();
    await fc.assert(
      fc.asyncProperty(anyBody, async (value) => {
        let answer: unknown;
        try {
          answer = { ok: JSON.parse(JSON.stringify(await pipe.transform(value, body))) };
        } catch (e) {
          answer = { messages: (e as BadRequestException).getResponse() };
        }
        expect(answer).toEqual(await strictAnswer(value));
      }),
      { numRuns: 1000 },
    );
  });

  it('takes the fast path for a well-formed order', () => {
    const order = { customerEmail: 'ada@example.com', items: [{ sku: 'MUG', quantity: 2 }, { sku: 'TEA', quantity: 1 }] };
    expect(acceptPlaceOrder(order)).toEqual(order);
  });

  it.each([
    [{ customerEmail: 'ada@example.com', items: [{ sku: 'A', quantity: 0 }] }, 'items.0.quantity must not be less than 1'],
    [{ customerEmail: 'nope', items: [{ sku: 'A', quantity: 1 }] }, 'customerEmail must be an email'],
    // isEmail throws a URIError on half a surrogate pair: that was a 500 from both paths.
    [{ customerEmail: 'a\ud800b@example.com', items: [{ sku: 'A', quantity: 1 }] }, 'customerEmail must be an email'],
    [{ customerEmail: 'ada@b\udfff.example.com', items: [{ sku: 'A', quantity: 1 }] }, 'customerEmail must be an email'],
    [{ customerEmail: 'ada@example.com', items: [{ sku: 'A', quantity: 1 }], coupon: 'X' }, 'property coupon should not exist'],
    [{ customerEmail: 'ada@example.com', items: [{ sku: 'A', quantity: 1 }, { sku: 'A', quantity: 2 }] }, 'items must not repeat a sku'],
  ])('keeps the 400 message for %j', async (value, message) => {
    await expect(new PlaceOrderBodyPipe().transform(value, body)).rejects.toMatchObject({
      response: { message: expect.arrayContaining([message]) },
    });
  });
});
