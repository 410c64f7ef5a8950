import { Logger } from '@nestjs/common';
import { Client, QueryResult } from 'pg';
import { DataSource } from 'typeorm';
import { EventEnvelope } from '../../contracts';
import { ModuleName } from '../config/environment';
import { KEEP_ALIVE, SERVER_KEEPALIVE } from '../database/database-url';
import { withTimeout } from '../health/indicators/with-timeout';
import { describeError } from './errors';
import { KafkaNaming } from './kafka-naming';
import { KafkaProducer, OutgoingMessage } from './kafka-producer';
import { TopicProvisioner } from './topic-provisioner';
import { noopObserver, TransportObserver } from './transport-observer';

export interface OutboxRelayOptions {
  module: ModuleName;
  schema: string;
  batchSize: number;
  pollMs: number;
  observer?: TransportObserver;
}

/** How long a batch waits for the relay's connection to come (back) before it counts as failed. */
const CONNECTION_WAIT_MS = 5000;

interface OutboxRow {
  id: string;
  topic: string;
  key: string;
  envelope: EventEnvelope;
}

/**
 * Publishes a module's outbox to Kafka in id order, in batches, with acks=all, then deletes what
 * the broker acknowledged. Woken by NOTIFY from the outbox trigger, with a poll as a fallback.
 *
 * Only one relay per schema publishes at a time (a transaction-scoped advisory lock), so two
 * processes running the same module cannot reorder a key's events. A crash between the send and
 * the delete publishes those events again: consumers dedupe through their inbox. The relay works on
 * its own connection, the one that LISTENs, and never holds one of the pool's.
 */
export class OutboxRelay {
  private readonly logger: Logger;
  private running = false;
  private loop?: Promise<void>;
  private listener?: Client;
  /** The listener once connected and listening: batches are published on it too. */
  private connected?: Client;
  /** The batch in flight: batches never overlap on the one connection. */
  private publishing: Promise<unknown> = Promise.resolve();
  private wake?: () => void;
  private pendingWake = false;
  /** Ends any wait of the loop (a stop). */
  private stopWake?: () => void;
  private lastError?: string;
  private stopping?: Promise<void>;

  constructor(
    private readonly dataSource: DataSource,
    private readonly producer: KafkaProducer,
    private readonly naming: KafkaNaming,
    private readonly topics: TopicProvisioner,
    private readonly options: OutboxRelayOptions,
  ) {
    this.logger = new Logger(`OutboxRelay:${options.schema}`);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    void this.listen();
    this.loop = this.run();
  }

  /** Stops the loop after one last bounded drain, so a graceful stop leaves nothing behind. */
  stop(drainTimeoutMs = 5000): Promise<void> {
    this.stopping ??= this.drainAndStop(drainTimeoutMs);
    return this.stopping;
  }

  private async drainAndStop(drainTimeoutMs: number): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.stopWake?.();
    // A publish stuck in kafkajs' retries (broker away) must not hold up shutdown for long.
    await Promise.race([this.loop, new Promise((r) => setTimeout(r, drainTimeoutMs).unref())]);
    if (this.lastError) {
      // The broker is unreachable: the events wait in the outbox for the next start.
      this.logger.warn(`not draining: ${this.lastError}`);
      await this.listener?.end().catch(() => undefined);
      return;
    }
    // Each batch raced against what is left of the drain's time: one queued behind a batch of the
    // loop still in kafkajs' retries could otherwise outlast SHUTDOWN_TIMEOUT_MS (the rows stay for the next start).
    const deadline = Date.now() + drainTimeoutMs;
    try {
      for (let left = drainTimeoutMs; left > 0; left = deadline - Date.now()) {
        if ((await withTimeout(this.publishBatch(), left, 'the final drain did not end (what is left stays in the outbox for the next start)')) === 0) break;
      }
    } catch (e) {
      this.logger.warn(`final drain stopped: ${describeError(e)}`);
    }
    await this.listener?.end().catch(() => undefined);
  }

  /** Rows waiting and the age of the oldest, for health and metrics. */
  async backlog(): Promise<{ count: number; oldestAgeMs: number }> {
    const [row] = await this.dataSource.query(
      `SELECT count(*)::int AS count, coalesce(extract(epoch FROM now() - min(created_at)) * 1000, 0)::float AS age
       FROM "${this.options.schema}".outbox`,
    );
    return { count: row.count, oldestAgeMs: row.age };
  }

  get error(): string | undefined {
    return this.lastError;
  }

  private async run(): Promise<void> {
    let backoff = 100;
    while (this.running) {
      try {
        // Only what this module publishes: under least-privilege ACLs it may not see the rest.
        await this.topics.ensure(this.topics.eventTopics(this.options.module));
        const published = await this.publishBatch();
        this.lastError = undefined;
        backoff = 100;
        if (published >= this.options.batchSize) continue;
        await this.idle(this.options.pollMs);
      } catch (e) {
        this.lastError = describeError(e);
        this.logger.warn(`publish failed, retrying in ${backoff} ms: ${this.lastError}`);
        // Not cut short by a NOTIFY: with orders coming in, a failure that comes back at once (a
        // permission, a missing relation) was retried, and logged, once per insert.
        await this.idle(backoff, false);
        backoff = Math.min(backoff * 2, 5000);
      }
    }
  }

  /** Publishes up to one batch; returns how many events went out. One batch at a time. */
  publishBatch(): Promise<number> {
    const batch = this.publishing.then(() => this.publishOnce());
    this.publishing = batch.catch(() => undefined);
    return batch;
  }

  /**
   * One batch on the relay's own connection (the one that LISTENs): the lock and the read in the
   * round trip that begins the transaction, the send, then the delete and the commit in one more —
   * two round trips to Postgres where a pooled transaction took five. The statements go as one
   * simple query each, so their values are written into them: the schema and batch size come from
   * code, the ids are the outbox's own bigints (checked). The commit does not wait for its WAL
   * flush: a delete lost in a crash only publishes those events again, which the inboxes absorb.
   */
  private async publishOnce(): Promise<number> {
    const client = await this.connection();
    const { schema, batchSize } = this.options;
    try {
      // The lock and the read are two statements: under READ COMMITTED each takes its own snapshot,
      // so the read sees what a relay that held the lock before deleted. In one statement the
      // snapshot came before the lock, and a batch another relay had just sent went out again.
      const [, , , selected] = (await client.query(
        `BEGIN;
         SET LOCAL synchronous_commit = off;
         SELECT set_config('outbox.locked', pg_try_advisory_xact_lock(hashtext('outbox:${schema.replace(/'/g, "''")}'))::text, true);
         SELECT o.id, o.topic, o.key, o.envelope FROM "${schema}".outbox o
         WHERE current_setting('outbox.locked') = 'true' ORDER BY o.id LIMIT ${Math.floor(batchSize)}`,
      )) as unknown as QueryResult<OutboxRow>[];
      // Another relay of this schema holds the lock (its rows are not ours to send), or nothing waits.
      const rows = selected.rows;
      if (rows.length === 0) {
        await client.query('COMMIT');
        return 0;
      }
      const messages = rows.map((r) => this.toMessage(r));
      await this.producer.send(messages);
      const ids = rows.map((r) => {
        if (!/^\d+$/.test(r.id)) throw new Error(`unexpected outbox id ${r.id}`);
        return r.id;
      });
      await client.query(`DELETE FROM "${schema}".outbox WHERE id IN (${ids.join(',')}); COMMIT`);
      const perTopic = new Map<string, number>();
      for (const m of messages) perTopic.set(m.topic, (perTopic.get(m.topic) ?? 0) + 1);
      const observer = this.options.observer ?? noopObserver;
      perTopic.forEach((n, topic) => observer.published(this.options.module, topic, n));
      return rows.length;
    } catch (e) {
      // Whatever failed, the connection must not stay inside the transaction (a lost one rolls back anyway).
      await client.query('ROLLBACK').catch(() => undefined);
      throw e;
    }
  }

  /** The relay's connection once it is up (it reconnects in the background); fails after a while without one. */
  private async connection(): Promise<Client> {
    const deadline = Date.now() + CONNECTION_WAIT_MS;
    while (!this.connected) {
      if (Date.now() >= deadline) throw new Error(`no connection to Postgres for the outbox of ${this.options.schema}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    return this.connected;
  }

  private toMessage(row: OutboxRow): OutgoingMessage {
    const env = row.envelope;
    return {
      topic: this.naming.topic(row.topic),
      key: row.key,
      value: JSON.stringify(env),
      headers: envelopeHeaders(env),
    };
  }

  /**
   * Waits `ms`, or less when a NOTIFY comes (`byNotify`; one that came meanwhile is kept for the next
   * wait). A stop always ends it.
   */
  private idle(ms: number, byNotify = true): Promise<void> {
    // Stopped while a batch was on its way: no wait (the stop's wake found none to end).
    if (!this.running) return Promise.resolve();
    if (byNotify && this.pendingWake) {
      this.pendingWake = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const finish = () => {
        clearTimeout(timer);
        this.wake = undefined;
        this.stopWake = undefined;
        resolve();
      };
      const timer = setTimeout(finish, ms);
      if (byNotify) this.wake = finish;
      this.stopWake = finish;
    });
  }

  private async listen(): Promise<void> {
    const url = (this.dataSource.options as { url?: string }).url;
    while (this.running) {
      // Named, so an operator tells the relay (LISTEN, and a batch in flight) apart in pg_stat_activity.
      const client = new Client({ connectionString: url, application_name: `shop:${this.options.module}:outbox-relay`, ...KEEP_ALIVE });
      // Always listening: an 'error' without a listener would crash the process when Postgres
      // restarts or cuts connections (it can fire more than once per client).
      let lost: () => void = () => undefined;
      client.on('error', (e) => {
        this.logger.debug(`LISTEN connection error: ${describeError(e)}`);
        lost();
      });
      this.listener = client;
      try {
        await client.connect();
        client.on('notification', () => {
          if (this.wake) this.wake();
          else this.pendingWake = true;
        });
        // The batch's advisory lock lives as long as this session. Postgres probes a silent client
        // only after two hours of the kernel's default (tcp_keepalives_idle 0): a relay whose host
        // died mid-batch kept every other relay of the schema idle that long. Now about 25 s.
        await client.query(
          `SET tcp_keepalives_idle = ${SERVER_KEEPALIVE.idleS}; SET tcp_keepalives_interval = ${SERVER_KEEPALIVE.intervalS};
           SET tcp_keepalives_count = ${SERVER_KEEPALIVE.count}; LISTEN "outbox_${this.options.schema}"`,
        );
        this.connected = client;
        // Rows committed before the LISTEN took effect sent no notification this connection heard.
        if (this.wake) this.wake();
        else this.pendingWake = true;
        await new Promise<void>((resolve) => {
          lost = resolve;
          client.once('end', () => resolve());
        });
      } catch (e) {
        this.logger.debug(`LISTEN connection lost: ${describeError(e)}`);
      }
      if (this.connected === client) this.connected = undefined;
      await client.end().catch(() => undefined);
      if (this.running) await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

/**
 * The headers every published event carries, from its envelope: consumers read the flow and event
 * ids from them for logs, and a run's event ids for its inbox, without decoding the value.
 */
export function envelopeHeaders(env: EventEnvelope): Record<string, string> {
  return {
    'event-id': env.eventId,
    'event-type': env.type,
    'event-version': String(env.version),
    'correlation-id': env.correlationId,
    'causation-id': env.causationId,
    producer: env.producer,
  };
}
