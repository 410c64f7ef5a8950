import { BadRequestException } from '@nestjs/common';
import fc from 'fast-check';
import { strictValidationPipe } from '../../../platform/http/validation-pipe';
import { acceptPlaceOrder, PlaceOrderBodyPipe } from './place-order-body.pipe';
import { PlaceOrderDto } from './place-order.dto';

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
const quantity = fc.oneof(fc.integer({ min: -2, max: 1002 }), fc.constantFrom(1.5, '2', null, NaN, Infinity));
const item = fc.oneof(
  fc.record({ sku, quantity }),
  fc.record({ sku, quantity, extra: fc.constant(1) }),
  fc.record({ sku }, { requiredKeys: [] }),
  fc.constantFrom(null, 1, 'x', []),
);
const email = fc.oneof(fc.emailAddress(), fc.constantFrom('not-an-email', '', `${'a'.repeat(250)}@b.co`, 'a@b', 7));
const anyBody = fc.oneof(
  fc.record({ customerEmail: email, items: fc.array(item, { maxLength: 4 }) }),
  fc.record({ customerEmail: email, items: fc.array(item, { maxLength: 3 }), coupon: fc.string() }),
  fc.record({ customerEmail: email, items: fc.oneof(fc.constant(null), fc.string()) }, { requiredKeys: [] }),
  fc.constantFrom(null, [], 'text', 42),
);

describe(PlaceOrderBodyPipe.name, () => {
  it('accepts only bodies PlaceOrderDto accepts, with the same data', async () => {
    await fc.assert(
      fc.asyncProperty(anyBody, async (value) => {
        const fast = acceptPlaceOrder(value);
        if (fast === undefined) return;
        expect(await strictAnswer(value)).toEqual({ ok: fast });
      }),
      { numRuns: 2000 },
    );
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
    [{ customerEmail: 'ada@example.com', items: [{ sku: 'A', quantity: 1 }], coupon: 'X' }, 'property coupon should not exist'],
    [{ customerEmail: 'ada@example.com', items: [{ sku: 'A', quantity: 1 }, { sku: 'A', quantity: 2 }] }, 'items must not repeat a sku'],
  ])('keeps the 400 message for %j', async (value, message) => {
    await expect(new PlaceOrderBodyPipe().transform(value, body)).rejects.toMatchObject({
      response: { message: expect.arrayContaining([message]) },
    });
  });
});
