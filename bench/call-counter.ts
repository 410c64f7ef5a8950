// What the app sends to Postgres and to Kafka, counted in the app's process (`npm run bench -- --count-calls`).
//
// At a modest rate an order's cost is what is fixed per consumer run, relay batch and fetch, not what
// it carries, so the count of statements and requests per order is the figure a change of those
// moves. Installed by bench/app.ts before the app starts; the bench resets and reads it over the
// child's IPC channel. Counting costs the app a little CPU: read CPU figures from runs without it.
import { Client } from 'pg';

/** Counts by kind: Postgres statements by their first keyword, Kafka requests by API name. */
export interface CallCounts {
  /** node-postgres `query` calls: messages sent, each one round trip (a simple query may hold several statements). */
  pgQueries: number;
  /** Statements, by first keyword (BEGIN, SELECT, INSERT, WITH, COMMIT …). */
  pg: Record<string, number>;
  /** Queries by their text's start (whitespace collapsed): which statements an order costs. */
  pgText: Record<string, number>;
  /** Requests to the broker, by API (Fetch, Produce, OffsetCommit, Heartbeat …). */
  kafka: Record<string, number>;
}

export type CallCounterMessage = { callCounts: 'reset' | 'read' };

export function noCalls(): CallCounts {
  return { pgQueries: 0, pg: {}, pgText: {}, kafka: {} };
}

/** First keywords of the statements in `sql` (a simple query may send several, separated by `;`). */
export function statementKinds(sql: string): string[] {
  return sql
    .split(/;\s*(?=[A-Za-z])/)
    .map((s) => /^\s*([A-Za-z]+)/.exec(s)?.[1]?.toUpperCase())
    .filter((k): k is string => k !== undefined);
}

/** Wraps node-postgres' and kafkajs' send paths (the same module instances the app loads) and answers the bench over IPC. */
export function installCallCounter(): void {
  let counts = noCalls();
  const add = (into: Record<string, number>, key: string) => (into[key] = (into[key] ?? 0) + 1);

  const query = Client.prototype.query as (...args: unknown[]) => unknown;
  Client.prototype.query = function (this: Client, ...args: unknown[]) {
    const config = args[0] as string | { text?: string } | undefined;
    const text = typeof config === 'string' ? config : config?.text;
    if (text !== undefined) {
      counts.pgQueries++;
      add(counts.pgText, text.replace(/\s+/g, ' ').replace(/\d+/g, 'N').trim().slice(0, 110)); // ids written into a statement (the relay's DELETE) count as one
      for (const kind of statementKinds(text)) add(counts.pg, kind);
    }
    return query.apply(this, args);
  } as typeof Client.prototype.query;

  // kafkajs has no process-wide hook per request (its REQUEST instrumentation events are per
  // client); every request goes through Connection#send.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const Connection = require('kafkajs/src/network/connection') as { prototype: { send: (p: { request: { apiName: string } }) => Promise<unknown> } };
  const send = Connection.prototype.send;
  Connection.prototype.send = function (this: unknown, protocol: { request: { apiName: string } }) {
    add(counts.kafka, protocol.request.apiName);
    return send.call(this, protocol);
  };

  process.on('message', (m: CallCounterMessage) => {
    if (m?.callCounts === 'reset') counts = noCalls();
    if (m?.callCounts) process.send?.({ callCounts: counts });
  });
}
