import { Inject, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import {
  ConnectedSocket,
  MessageBody,
  OnGatewayConnection,
  OnGatewayDisconnect,
  SubscribeMessage,
  WebSocketGateway,
  WebSocketServer,
} from '@nestjs/websockets';
import { Namespace, Socket } from 'socket.io';
import { batchesOf, LiveBatch } from './live-batch';
import { LiveChange } from './live-change';
import { LiveFeed } from './live-feed';

export const LIVE_FLUSH_MS = Symbol('LIVE_FLUSH_MS');

interface Client {
  socket: Socket;
  /** The snapshot version the client loaded; undefined until it says `sync`. */
  since?: number;
  cursor: number;
}

/**
 * `/live`: pushes the read models' changes to dashboards. A client loads a snapshot (which carries
 * its version), sends `sync { version }`, and from then on gets at most one `delta` per flush
 * interval with every change above that version summed up — a burst of 10k orders is a few
 * messages a second, not 10k. `resync` asks it to load a fresh snapshot (it fell too far behind).
 */
@WebSocketGateway({ namespace: '/live' })
export class LiveGateway implements OnGatewayConnection, OnGatewayDisconnect, OnModuleInit, OnModuleDestroy {
  /** The `/live` namespace (tests use it to drop connections). */
  @WebSocketServer() readonly server!: Namespace;
  private readonly clients = new Map<string, Client>();
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly feed: LiveFeed,
    @Inject(LIVE_FLUSH_MS) private readonly flushMs: number,
  ) {}

  onModuleInit(): void {
    this.timer = setInterval(() => this.flush(), this.flushMs);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  handleConnection(socket: Socket): void {
    this.clients.set(socket.id, { socket, cursor: this.feed.start });
    socket.emit('hello', { flushMs: this.flushMs });
  }

  handleDisconnect(socket: Socket): void {
    this.clients.delete(socket.id);
  }

  @SubscribeMessage('sync')
  sync(@ConnectedSocket() socket: Socket, @MessageBody() body: unknown): { ok: boolean } | undefined {
    // Each sync is answered, whatever waits to be written: a client that sends them and reads nothing
    // would pile the answers up in this process without bound. It is cut off instead.
    if (unwritten(socket) > MAX_UNWRITTEN) {
      this.clients.delete(socket.id);
      socket.disconnect(true);
      return undefined;
    }
    const client = this.clients.get(socket.id);
    const version = (body as { version?: unknown } | null)?.version;
    if (!client || typeof version !== 'number' || !Number.isSafeInteger(version) || version < 0) return { ok: false };
    if (!this.feed.covers(version)) {
      socket.emit('resync', { reason: 'snapshot older than the live history' });
      return { ok: false };
    }
    client.since = version;
    client.cursor = this.feed.start;
    return { ok: true };
  }

  /**
   * One message per synced client at most, with everything that arrived since its last one. Clients
   * at the same cursor share one read of the feed, and one batch per snapshot version that matters
   * (one for all whose snapshot is below every change read): one batch per client took 376 ms a flush
   * for 1,000 clients and 1,000 changes, on the loop that also serves orders.
   */
  flush(): void {
    const reads = new Map<number, FeedRead>();
    const sends: { client: Client; read: FeedRead; since: number }[] = [];
    for (const client of this.clients.values()) {
      if (client.since === undefined) continue;
      if (this.feed.missedAfter(client.cursor) && !this.feed.covers(client.since)) {
        // Changes it has not seen were dropped from the history (or lost): only a new snapshot can be right.
        client.since = undefined;
        client.socket.emit('resync', { reason: 'fell behind the live history' });
        continue;
      }
      // Its last message still waits to be written (a client that stopped reading): no new one, and
      // its cursor stays, so the next flush after it drains sends everything since as one delta.
      if (unwritten(client.socket) > 0) continue;
      let read = reads.get(client.cursor);
      if (!read) {
        const { changes, cursor } = this.feed.after(client.cursor);
        let lowest = Infinity;
        for (const c of changes) lowest = Math.min(lowest, c.version);
        read = { changes, cursor, lowest, wanted: new Set(), batches: new Map() };
        reads.set(client.cursor, read);
      }
      client.cursor = read.cursor;
      // Every change read is above a snapshot below the lowest: those clients share one batch, and the
      // others (synced since the last flush, often at the same versions after a reconnect) one per version.
      const since = client.since < read.lowest ? -1 : client.since;
      read.wanted.add(since);
      sends.push({ client, read, since });
    }
    // Every version's batch of a read from one pass over its changes (batchesOf).
    for (const read of reads.values()) read.batches = batchesOf(read.changes, [...read.wanted]);
    for (const { client, read, since } of sends) {
      const batch = read.batches.get(since);
      if (batch) client.socket.emit('delta', batch);
    }
  }
}

/** What one flush read from the feed at one cursor, and the batches built from it by snapshot version (-1: all of it). */
interface FeedRead {
  changes: LiveChange[];
  cursor: number;
  /** The lowest version among `changes`: a client synced below it gets every one of them. */
  lowest: number;
  /** The snapshot versions its clients need a batch for (-1: all of it). */
  wanted: Set<number>;
  batches: Map<number, LiveBatch | undefined>;
}

/** Packets a client may leave unwritten before a `sync` from it cuts it off (a delta, a resync and acks fit many times over). */
const MAX_UNWRITTEN = 64;

/** Packets engine.io still holds for the socket's connection (its `writeBuffer`, private in its types). */
function unwritten(socket: Socket): number {
  return (socket.conn as unknown as { writeBuffer?: unknown[] } | undefined)?.writeBuffer?.length ?? 0;
}
