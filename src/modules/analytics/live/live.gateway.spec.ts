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
  const socket = { id, conn: { writeBuffer: [] as unknown[] }, emit: (event: string, body: unknown) => emitted.push([event, body]) };
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
});
