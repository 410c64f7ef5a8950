// Envelope + contract validation per incoming event, in one process (`npm run bench:decode`):
// class-transformer + class-validator (what the transport did for every event) against the
// compiled check (what it does now, falling back to the former when unsure), beside JSON.parse
// alone as the floor. Figures are ratios within the same run; the machine is shared and noisy.
import 'reflect-metadata';
import { plainToInstance } from 'class-transformer';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { validateSync } from 'class-validator';
import { EventEnvelopeSchema, EVENTS } from '../src/contracts';
import { examples } from '../src/contracts/contract-examples';
import { validateContract } from '../src/platform/kafka/contract-validator';
import { median } from './report';

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

// Young-generation collections, counted as they happen: what a decode allocates, in a figure the
// box's noise does not move (the time per event does).
let scavenges = 0;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) if ((entry as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR) scavenges++;
}).observe({ entryTypes: ['gc'] });

/** µs per event, and scavenges per 10,000 events (the observer reports after the synchronous loop). */
async function measure(fn: () => unknown, ms: number): Promise<{ us: number; scavenges: number }> {
  await new Promise((r) => setTimeout(r, 10));
  scavenges = 0;
  let n = 0;
  const end = performance.now() + ms;
  while (performance.now() < end) {
    for (let i = 0; i < 100; i++) fn();
    n += 100;
  }
  await new Promise((r) => setTimeout(r, 10));
  return { us: (ms * 1000) / n, scavenges: (scavenges * 10_000) / n };
}

async function main(): Promise<void> {
  const rounds = Number(process.argv.find((a) => a.startsWith('--rounds='))?.split('=')[1] ?? 5);
  for (const [, fn] of contenders) await measure(fn, 300); // warm-up (JIT)
  const perRound = contenders.map(() => [] as { us: number; scavenges: number }[]);
  for (let r = 0; r < rounds; r++) for (const [i, [, fn]] of contenders.entries()) perRound[i].push(await measure(fn, 500));
  const before = median(perRound[1].map((m) => m.us));
  console.log(`| decode of one order.placed (median of ${rounds} interleaved rounds) | µs/event | speed vs before | scavenges per 10,000 |`);
  console.log('| --- | --- | --- | --- |');
  contenders.forEach(([label], i) => {
    const us = median(perRound[i].map((m) => m.us));
    const gcs = median(perRound[i].map((m) => m.scavenges));
    console.log(`| ${label} | ${us.toFixed(1)} | ${i === 1 ? '1× (baseline)' : `${(before / us).toFixed(1)}×`} | ${gcs.toFixed(1)} |`);
  });
}

void main();
