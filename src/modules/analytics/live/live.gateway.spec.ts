import { Socket } from 'socket.io';
import { LiveChange } from './live-change';
import { LiveFeed } from './live-feed';
import { LiveGateway } from './live.gateway';

const change = (version: number): LiveChange => ({
  version,
  totals: { 'orders.placed': 1 },
  minutes: { '2025-06-01T10:00:00.000Z': { placed: 1 } },
  feed: { type: 'order.placed', key: `order-${version}`, at: '2025-06-01T10:00:00.000Z' },
});

/** A socket.io socket as the gateway sees it (a stub: what is tested is what the gateway sends, not the wire). */
function stubSocket(id: string) {
  const emitted: [string, unknown][] = [];
  const socket = {
    id,
    conn: { writeBuffer: [] as unknown[] },
    disconnected: false,
    emit: (event: string, body: unknown) => emitted.push([event, body]),
    disconnect: () => (socket.disconnected = true),
  };
  return { socket, emitted, asSocket: socket as unknown as Socket };
}

describe(LiveGateway.name, () => {
  it('sends a client that stopped reading nothing more until its socket drains, then everything since as one delta (stub socket)', () => {
    const feed = new LiveFeed(60_000);
    const gateway = new LiveGateway(feed, 300);
    const { socket, emitted, asSocket } = stubSocket('slow');
    gateway.handleConnection(asSocket);
    expect(gateway.sync(asSocket, { version: 0 })).toEqual({ ok: true });
    feed.publish(change(1));
    gateway.flush();
    expect(emitted.filter(([e]) => e === 'delta')).toHaveLength(1);

    socket.conn.writeBuffer.push('the last delta, unwritten');
    feed.publish(change(2));
    feed.publish(change(3));
    gateway.flush();
    gateway.flush();
    expect(emitted.filter(([e]) => e === 'delta')).toHaveLength(1);

    socket.conn.writeBuffer.length = 0;
    gateway.flush();
    const deltas = emitted.filter(([e]) => e === 'delta').map(([, b]) => b as { totals: Record<string, number> });
    expect(deltas).toHaveLength(2);
    expect(deltas[1].totals['orders.placed']).toBe(2); // versions 2 and 3 together
  });

  it('cuts off a client that keeps sending sync while reading nothing, instead of piling its answers up (stub socket)', () => {
    const feed = new LiveFeed(60_000);
    const gateway = new LiveGateway(feed, 300);
    const { socket, emitted, asSocket } = stubSocket('flooding');
    gateway.handleConnection(asSocket);
    expect(gateway.sync(asSocket, { version: 0 })).toEqual({ ok: true });
    socket.conn.writeBuffer.push(...Array.from({ length: 65 }, (_, i) => `unwritten ${i}`));
    const before = emitted.length;
    expect(gateway.sync(asSocket, { version: 0 })).toBeUndefined();
    expect(socket.disconnected).toBe(true);
    expect(emitted.length).toBe(before);
    // Gone from the flushes too.
    feed.publish(change(1));
    socket.conn.writeBuffer.length = 0;
    gateway.flush();
    expect(emitted.filter(([e]) => e === 'delta')).toEqual([]);
  });

  it('gives clients at one cursor the same delta, and a client synced above some of the changes only those after its snapshot (stub sockets)', () => {
    const feed = new LiveFeed(60_000);
    const gateway = new LiveGateway(feed, 300);
    const early = Array.from({ length: 3 }, (_, i) => stubSocket(`early-${i}`));
    for (const c of early) {
      gateway.handleConnection(c.asSocket);
      gateway.sync(c.asSocket, { version: 0 });
    }
    const late = stubSocket('late');
    gateway.handleConnection(late.asSocket);
    feed.publish(change(1));
    feed.publish(change(2));
    gateway.sync(late.asSocket, { version: 2 }); // its snapshot already holds versions 1 and 2
    feed.publish(change(3));
    gateway.flush();
    const delta = (c: ReturnType<typeof stubSocket>) => c.emitted.filter(([e]) => e === 'delta').map(([, b]) => b as { totals: Record<string, number>; fromVersion: number });
    for (const c of early) expect(delta(c)).toEqual([expect.objectContaining({ fromVersion: 1, totals: { 'orders.placed': 3 } })]);
    expect(delta(late)).toEqual([expect.objectContaining({ fromVersion: 3, totals: { 'orders.placed': 1 } })]);
    // The next flush: every client at the same cursor, one shared delta.
    feed.publish(change(4));
    gateway.flush();
    for (const c of [...early, late]) expect(delta(c)[1]).toEqual(expect.objectContaining({ fromVersion: 4, totals: { 'orders.placed': 1 } }));
  });
});
