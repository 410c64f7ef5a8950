import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Type } from 'class-transformer';
import { IsInt, IsUUID, Min, ValidateNested } from 'class-validator';
import { defineEvent, EVENTS, OrderLinePayload } from '../../../src/contracts';
import { buildAsyncApi, keyPathOf } from '../../../src/platform/observability/asyncapi/asyncapi';
import { toYaml } from '../../../src/platform/observability/asyncapi/yaml';
import { DEAD_LETTER_HEADERS, RETRY_HEADERS } from '../../../src/platform/kafka/transport-headers';
import { ASYNCAPI_PATH, consumersFromHandlers, generateAsyncApi } from '../../../scripts/asyncapi';

describe('docs/asyncapi.yaml', () => {
  it('is exactly what src/contracts and the module handlers generate (run npm run docs:asyncapi after changing either)', () => {
    expect(readFileSync(ASYNCAPI_PATH, 'utf8')).toBe(generateAsyncApi());
  });
});

describe(buildAsyncApi.name, () => {
  const consumers = consumersFromHandlers();
  const doc = buildAsyncApi({ consumers }) as {
    channels: Record<string, unknown>;
    components: { messages: Record<string, Record<string, unknown>>; schemas: Record<string, { properties: Record<string, unknown>; required: string[] }> };
  };

  it('lists every topic of the contracts, with its key, producer and consumer groups read from the handlers', () => {
    for (const definition of Object.values(EVENTS)) {
      expect(doc.channels[definition.topic]).toBeDefined();
      const message = doc.components.messages[`${definition.type}.v${definition.version}`];
      expect(message).toMatchObject({ 'x-producer': definition.producer, 'x-key': keyPathOf(definition) });
      expect(message['x-consumer-groups']).toEqual([...(consumers[definition.type] ?? [])].sort());
    }
    expect(doc.components.messages['order.placed.v1']['x-consumer-groups']).toEqual(expect.arrayContaining(['warehouse', 'email']));
    expect(keyPathOf(EVENTS['product.upserted'])).toBe('payload.sku');
  });

  it('documents every header the transport code names for a retry or a dead letter, and each module’s retry topics', () => {
    const schemas = doc.components.schemas as unknown as Record<string, { properties: Record<string, unknown> }>;
    const documented = new Set([...Object.keys(schemas.RetryHeaders.properties), ...Object.keys(schemas.DeadLetterHeaders.properties)]);
    // Every such header name written anywhere in the transport's code, typed list or not.
    const dir = join(__dirname, '../../../src/platform/kafka');
    const named = new Set(
      readdirSync(dir)
        .filter((f) => f.endsWith('.ts') && !f.endsWith('.spec.ts') && f !== 'transport-headers.ts')
        .flatMap((f) => [...readFileSync(join(dir, f), 'utf8').matchAll(/'((?:dlq|retry)-[a-z-]+|redriven-from)'/g)].map((m) => m[1])),
    );
    expect(named.size).toBeGreaterThan(10);
    expect([...named].filter((h) => !documented.has(h))).toEqual([]);
    expect([...documented].sort()).toEqual([...Object.keys(RETRY_HEADERS), ...Object.keys(DEAD_LETTER_HEADERS)].sort());
    for (const module of new Set(Object.values(consumers).flat())) {
      expect(doc.channels[`${module}.retry`]).toMatchObject({ address: `${module}.retry.{level}` });
    }
  });

  it('describes payloads with the constraints consumers validate against', () => {
    expect(doc.components.schemas.OrderPlacedPayload.properties.items).toEqual({
      type: 'array',
      minItems: 1,
      maxItems: 100,
      uniqueItems: true, // weaker than the rule (one line per SKU), which JSON Schema cannot say
      items: { $ref: '#/components/schemas/OrderLinePayload' },
    });
    expect(doc.components.schemas.OrderLinePayload.properties.quantity).toEqual({ type: 'integer', minimum: 1, maximum: 1000 });
    expect(doc.components.schemas.EventEnvelopeSchema.required).toEqual(
      expect.arrayContaining(['eventId', 'type', 'version', 'occurredAt', 'key', 'correlationId', 'causationId', 'producer', 'payload']),
    );
  });

  it('gives a different document when a contract changes, so the file check fails until it is regenerated', () => {
    class OrderPlacedV2Payload {
      @IsUUID() orderId: string;
      @ValidateNested({ each: true }) @Type(() => OrderLinePayload) items: OrderLinePayload[];
      @IsInt() @Min(0) discountCents: number;
    }
    const changed = { ...EVENTS, 'order.placed': { ...EVENTS['order.placed'], version: 2, payload: OrderPlacedV2Payload, key: (p: OrderPlacedV2Payload) => p.orderId } };
    const regenerated = toYaml(buildAsyncApi({ events: changed, consumers }));
    expect(regenerated).not.toBe(generateAsyncApi());
    expect(regenerated).toContain('discountCents');
  });

  it('refuses a validation rule it cannot describe instead of leaving it out', () => {
    class Odd {
      @IsUUID() id: string;
    }
    // A constraint without a JSON Schema mapping (simulated) must fail loudly.
    const { getMetadataStorage } = jest.requireActual<typeof import('class-validator')>('class-validator');
    const [meta] = getMetadataStorage().getTargetValidationMetadatas(Odd, '', true, false);
    meta.name = 'isCreditCard';
    const event = defineEvent({ type: 'odd.happened', version: 1, topic: 'odd.happened', payload: Odd, key: (p) => p.id, producer: 'order', description: '' });
    expect(() => buildAsyncApi({ events: { [event.type]: event } as never, consumers: {} })).toThrow(/no JSON Schema mapping for class-validator "isCreditCard"/);
  });
});
