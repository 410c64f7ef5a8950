// Envelope + contract validation per incoming event, in one process (`npm run bench:decode`):
// class-transformer + class-validator (what the transport did for every event) against the
// compiled check (what it does now, falling back to the former when unsure), beside JSON.parse
// alone as the floor. Figures are ratios within the same run; the machine is shared and noisy.
import 'reflect-metadata';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { EventEnvelopeSchema, EVENTS } from '../src/contracts';
import { examples } from '../src/contracts/contract-examples';
import { validateContract } from '../src/platform/kafka/contract-validator';

const value = Buffer.from(
  JSON.stringify({
    eventId: '8a1c4f5e-8a2b-4c3d-9e0f-112233445566',
    type: 'order.placed',
    version: 1,
    occurredAt: new Date().toISOString(),
    key: '3f1c4f5e-8a2b-4c3d-9e0f-112233445566',
    correlationId: 'c-1',
    causationId: 'c-1',
    producer: 'order',
    payload: {
      ...examples['order.placed'],
      items: [
        { sku: 'BENCH-001', quantity: 1, unitPriceCents: 1200 },
        { sku: 'BENCH-002', quantity: 2, unitPriceCents: 800 },
      ],
    },
  }),
);
const payloadCls = EVENTS['order.placed'].payload as new () => object;

const contenders: [string, () => unknown][] = [
  ['JSON.parse only (floor)', () => JSON.parse(value.toString('utf8'))],
  [
    'class-transformer + class-validator (before)',
    () => {
      const raw = JSON.parse(value.toString('utf8')) as { payload: unknown };
      const envelope = plainToInstance(EventEnvelopeSchema, raw);
      if (validateSync(envelope, { forbidUnknownValues: false }).length > 0) throw new Error('invalid');
      const payload = plainToInstance(payloadCls, envelope.payload);
      if (validateSync(payload, { forbidUnknownValues: false }).length > 0) throw new Error('invalid');
      return payload;
    },
  ],
  [
    'compiled check, class-validator when unsure (now)',
    () => {
      const raw = JSON.parse(value.toString('utf8')) as unknown;
      const envelope = validateContract(EventEnvelopeSchema, raw);
      if (envelope.failed.length > 0) throw new Error('invalid');
      const payload = validateContract(payloadCls, envelope.value.payload);
      if (payload.failed.length > 0) throw new Error('invalid');
      return payload.value;
    },
  ],
];

function measure(fn: () => unknown, ms: number): number {
  let n = 0;
  const end = performance.now() + ms;
  while (performance.now() < end) {
    for (let i = 0; i < 100; i++) fn();
    n += 100;
  }
  return (ms * 1000) / n; // µs per event
}

const rounds = Number(process.argv.find((a) => a.startsWith('--rounds='))?.split('=')[1] ?? 5);
for (const [, fn] of contenders) measure(fn, 300); // warm-up (JIT)
const perRound = contenders.map(() => [] as number[]);
for (let r = 0; r < rounds; r++) contenders.forEach(([, fn], i) => perRound[i].push(measure(fn, 500)));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const before = median(perRound[1]);
console.log(`| decode of one order.placed (median of ${rounds} interleaved rounds) | µs/event | speed vs before |`);
console.log('| --- | --- | --- |');
contenders.forEach(([label], i) => {
  const us = median(perRound[i]);
  console.log(`| ${label} | ${us.toFixed(1)} | ${i === 1 ? '1× (baseline)' : `${(before / us).toFixed(1)}×`} |`);
});
