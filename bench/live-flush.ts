// One flush of the dashboard's live gateway with many clients, against the same flush with one
// (`npm run bench:live-flush -- [--clients=N] [--changes=K] [--rounds=R] [--spread]`).
//
// --spread: each client synced at its own version, spread over the history (clients that reconnect
// at different moments, or a script that syncs at every version it can): one batch per version.
//
// Every flush interval (300 ms) the gateway sends each synced client one delta summing what arrived
// since its last one, on the event loop that also serves orders. Clients are stub sockets (what is
// measured is the gateway's own work, not socket.io's encoding); every client synced at version 0, as
// after a burst that all of them follow. A flush that does each client's work apart costs about
// `clients` times the one-client flush. Figures are ratios within the run: the machine is noisy.
import { Socket } from 'socket.io';
import { LiveChange } from '../src/modules/analytics/live/live-change';
import { LiveFeed } from '../src/modules/analytics/live/live-feed';
import { LiveGateway } from '../src/modules/analytics/live/live.gateway';
import { median } from './report';

const arg = (name: string, fallback: number) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback);
const opts = { clients: arg('clients', 1000), changes: arg('changes', 10_000), rounds: arg('rounds', 5), spread: process.argv.includes('--spread') };

const change = (version: number): LiveChange => ({
  version,
  totals: { 'orders.placed': 1, 'orders.PENDING': 1 },
  minutes: { [new Date(Date.UTC(2026, 0, 1, 10, version % 60)).toISOString()]: { placed: 1 } },
  feed: { type: 'order.placed', key: `order-${version}`, at: '2026-01-01T10:00:00.000Z' },
});

/** Milliseconds for the one flush after `opts.changes` changes, with `clients` synced clients. */
function flushMs(clients: number): number {
  const feed = new LiveFeed(60_000);
  const gateway = new LiveGateway(feed, 300);
  let sent = 0;
  if (opts.spread) for (let v = 1; v <= opts.changes; v++) feed.publish(change(v));
  for (let i = 0; i < clients; i++) {
    const socket = { id: `s${i}`, conn: { writeBuffer: [] }, emit: () => sent++, disconnect: () => undefined } as unknown as Socket;
    gateway.handleConnection(socket);
    // Spread: below the newest change, so each still gets a delta.
    gateway.sync(socket, { version: opts.spread ? Math.floor((i * (opts.changes - 1)) / clients) : 0 });
  }
  if (!opts.spread) for (let v = 1; v <= opts.changes; v++) feed.publish(change(v));
  const started = performance.now();
  gateway.flush();
  const ms = performance.now() - started;
  if (sent !== clients * 2) throw new Error(`expected a hello and a delta per client, counted ${sent} messages`);
  return ms;
}

const one: number[] = [];
const many: number[] = [];
flushMs(opts.clients); // warm-up, not counted
for (let r = 0; r < opts.rounds; r++) {
  one.push(flushMs(1));
  many.push(flushMs(opts.clients));
}
const [a, b] = [median(one), median(many)];
console.log(`| one flush, ${opts.changes.toLocaleString('en')} changes${opts.spread ? ', clients synced at spread versions' : ''} (median of ${opts.rounds}) | ms | vs one client |`);
console.log('| --- | --- | --- |');
console.log(`| 1 client (baseline) | ${a.toFixed(1)} | 1.00× |`);
console.log(`| ${opts.clients.toLocaleString('en')} clients | ${b.toFixed(1)} | ${(b / a).toFixed(1)}× |`);
