import { ModuleName } from '../config/environment';
import { KafkaRegistry } from './kafka-registry';
import type { ModuleKafkaServer } from './module-kafka.server';
import type { OutboxRelay } from './outbox-relay';

/** A promise the test settles by hand. */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('KafkaRegistry.closeAll (servers and relays are stand-ins that record their calls)', () => {
  const modules: ModuleName[] = ['order', 'warehouse', 'email', 'analytics'];

  it('closes every consumer at once, then drains every outbox at once, once however many modules ask', async () => {
    const registry = new KafkaRegistry();
    const calls: string[] = [];
    const closes = new Map(modules.map((m) => [m, deferred()]));
    const stops = new Map(modules.map((m) => [m, deferred()]));
    for (const m of modules) {
      registry.servers.set(m, { close: () => (calls.push(`close ${m}`), closes.get(m)!.promise) } as unknown as ModuleKafkaServer);
      registry.relays.set(m, { stop: () => (calls.push(`stop ${m}`), stops.get(m)!.promise) } as unknown as OutboxRelay);
    }

    // Nest runs the modules' hooks one after the other; each asks.
    const done = Promise.all(modules.map(() => registry.closeAll()));
    await Promise.resolve();
    expect(calls).toEqual(modules.map((m) => `close ${m}`)); // all four started, none finished

    closes.forEach((c) => c.resolve());
    await new Promise((r) => setImmediate(r));
    expect(calls.slice(4)).toEqual(modules.map((m) => `stop ${m}`)); // drains only after every consumer closed, all at once

    stops.forEach((s) => s.resolve());
    await done;
    expect(calls).toHaveLength(8); // once each
  });
});
