import { EventDefinition, EventEnvelopeSchema, EVENTS } from '../../../contracts';
import { DEAD_LETTER_HEADERS, RETRY_HEADERS } from '../../kafka/transport-headers';
import { JsonSchema, schemasOf } from './json-schema';

/** Any event definition, whatever its payload type. */
export type AnyEventDefinition = Omit<EventDefinition, 'key' | 'payload'> & { payload: new () => object; key: (payload: never) => string };

export interface AsyncApiInput {
  /** The published language: every event definition by type (default: contracts' EVENTS). */
  events?: Record<string, AnyEventDefinition>;
  /** Which modules' consumer groups handle each event type (read from the handlers by the generator). */
  consumers: Record<string, string[]>;
}

/** The payload path an event's key is read from (`payload.orderId`), found by calling `key` on a probe. */
export function keyPathOf(definition: AnyEventDefinition): string {
  const read: string[] = [];
  const probe = new Proxy({}, { get: (_t, p) => (read.push(String(p)), 'key') });
  definition.key(probe as never);
  return read.length > 0 ? read.map((p) => `payload.${p}`).join(' + ') : '(constant)';
}

const messageId = (d: AnyEventDefinition) => `${d.type}.v${d.version}`;
const ref = (path: string) => ({ $ref: `#/${path}` });
const sorted = (list: Iterable<string>) => [...new Set(list)].sort();

const KAFKA_HEADERS: JsonSchema = {
  type: 'object',
  description: 'Written by the outbox relay; the envelope carries the same values.',
  properties: {
    'event-id': { type: 'string', format: 'uuid' },
    'event-type': { type: 'string' },
    'event-version': { type: 'string' },
    'correlation-id': { type: 'string', description: 'The flow (HTTP X-Request-Id) this event belongs to.' },
    'causation-id': { type: 'string', description: 'The event or request that caused this one.' },
    producer: { type: 'string' },
  },
};

const headerSchema = (description: string, headers: Record<string, string>): JsonSchema => ({
  type: 'object',
  description,
  properties: Object.fromEntries(Object.entries(headers).map(([name, about]) => [name, { type: 'string', description: about }])),
});

const DEAD_LETTER_SCHEMA = headerSchema('The original headers, plus why and where the event came from.', DEAD_LETTER_HEADERS);
const RETRY_SCHEMA = headerSchema('The original headers, plus when it is due again and where it came from.', RETRY_HEADERS);

/**
 * The AsyncAPI 3 document of the published language: one channel per topic with its key, envelope,
 * payload schema, producer and consumer groups, plus each module's retry and dead-letter topics. Names are
 * logical; a deployment adds KAFKA_TOPIC_PREFIX / KAFKA_GROUP_PREFIX.
 */
export function buildAsyncApi({ events = EVENTS, consumers }: AsyncApiInput): Record<string, unknown> {
  const definitions = Object.values(events).sort((a, b) => a.type.localeCompare(b.type));
  const schemas: Record<string, JsonSchema> = {};
  schemasOf(EventEnvelopeSchema, schemas);
  const channels: Record<string, unknown> = {};
  const operations: Record<string, unknown> = {};
  const messages: Record<string, unknown> = {};

  for (const d of definitions) {
    schemasOf(d.payload, schemas);
    const id = messageId(d);
    const groups = sorted(consumers[d.type] ?? []);
    const key = keyPathOf(d);
    messages[id] = {
      name: d.type,
      title: `${d.type} v${d.version}`,
      summary: d.description,
      contentType: 'application/json',
      correlationId: { location: '$message.header#/correlation-id' },
      headers: ref('components/schemas/KafkaHeaders'),
      payload: {
        allOf: [
          ref('components/schemas/EventEnvelopeSchema'),
          {
            type: 'object',
            properties: {
              type: { const: d.type },
              version: { const: d.version },
              key: { type: 'string', description: `= ${key}` },
              producer: { const: d.producer },
              payload: ref(`components/schemas/${d.payload.name}`),
            },
          },
        ],
      },
      bindings: { kafka: { key: { type: 'string', description: key }, bindingVersion: '0.5.0' } },
      'x-key': key,
      'x-producer': d.producer,
      'x-consumer-groups': groups,
    };
    channels[d.topic] = {
      address: d.topic,
      description: d.description,
      messages: { [id]: ref(`components/messages/${id}`) },
    };
    const message = ref(`channels/${d.topic}/messages/${id}`);
    operations[`${d.producer}.send.${d.type}`] = {
      action: 'send',
      summary: `${d.producer} publishes ${d.type} through its outbox (key ${key}).`,
      channel: ref(`channels/${d.topic}`),
      messages: [message],
    };
    for (const group of groups) {
      operations[`${group}.receive.${d.type}`] = {
        action: 'receive',
        summary: `The ${group} consumer group handles ${d.type}.`,
        channel: ref(`channels/${d.topic}`),
        messages: [message],
        bindings: { kafka: { groupId: { type: 'string', const: group }, bindingVersion: '0.5.0' } },
      };
    }
  }

  // Every module that consumes parks what it cannot handle in <module>.dlq.
  const consumingModules = sorted(Object.values(consumers).flat());
  // A message the transport moves as it came (key and value unchanged), with headers of its own.
  const moved = (name: string, title: string, summary: string, headers: string, payload: string) =>
    (messages[name] = { name, title, summary, headers: ref(`components/schemas/${headers}`), payload: { description: payload } });
  moved(
    'dead-letter',
    'A parked event',
    'The original message (key and value unchanged) with the reason in headers; operators inspect and redrive.',
    'DeadLetterHeaders',
    'The original message value, byte for byte (it may be invalid).',
  );
  moved(
    'retry',
    'An event to handle again',
    'The original message (key and value unchanged) that failed in its handler, or was redriven from the DLQ; only its own group reads it.',
    'RetryHeaders',
    'The original message value, byte for byte.',
  );
  for (const module of consumingModules) {
    const retry = `${module}.retry`;
    channels[retry] = {
      address: `${retry}.{level}`,
      description: `Events the ${module} group failed to handle, each held until its retry-due-at (level n waits the nth of KAFKA_RETRY_DELAYS_MS); a DLQ redrive sends to level 1.`,
      parameters: { level: { description: '1 up to the number of KAFKA_RETRY_DELAYS_MS.' } },
      messages: { retry: ref('components/messages/retry') },
    };
    operations[`${module}.send.retry`] = {
      action: 'send',
      summary: `The ${module} transport sends an event its handler failed to the next retry topic (key unchanged), and a redrive sends a letter back.`,
      channel: ref(`channels/${retry}`),
      messages: [ref(`channels/${retry}/messages/retry`)],
    };
    operations[`${module}.receive.retry`] = {
      action: 'receive',
      summary: `The ${module} consumer group handles its retries once due.`,
      channel: ref(`channels/${retry}`),
      messages: [ref(`channels/${retry}/messages/retry`)],
      bindings: { kafka: { groupId: { type: 'string', const: module }, bindingVersion: '0.5.0' } },
    };
    const topic = `${module}.dlq`;
    channels[topic] = {
      address: topic,
      description: `Events the ${module} group could not handle after its retries, or could not decode.`,
      messages: { 'dead-letter': ref('components/messages/dead-letter') },
    };
    operations[`${module}.send.dead-letter`] = {
      action: 'send',
      summary: `The ${module} transport parks an event it cannot handle (key unchanged).`,
      channel: ref(`channels/${topic}`),
      messages: [ref(`channels/${topic}/messages/dead-letter`)],
    };
  }

  return {
    asyncapi: '3.0.0',
    info: {
      title: 'Shop events',
      version: '1.0.0',
      description:
        'Every event the modules exchange over Kafka. Each travels in one envelope; the version lives in the envelope. ' +
        'Topic and group names get KAFKA_TOPIC_PREFIX / KAFKA_GROUP_PREFIX in a deployment. ' +
        'Generated from src/contracts and the modules’ handlers by `npm run docs:asyncapi`; a unit test fails when it drifts.',
    },
    defaultContentType: 'application/json',
    servers: {
      local: { host: '127.0.0.1:9092', protocol: 'kafka', description: 'The local broker of npm run start:dev.' },
    },
    channels,
    operations,
    components: {
      messages,
      schemas: { ...Object.fromEntries(Object.entries(schemas).sort(([a], [b]) => a.localeCompare(b))), KafkaHeaders: KAFKA_HEADERS, DeadLetterHeaders: DEAD_LETTER_SCHEMA, RetryHeaders: RETRY_SCHEMA },
    },
  };
}
