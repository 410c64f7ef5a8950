import { Logger } from '@nestjs/common';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { EventEnvelope } from '../../contracts';
import { ModuleName } from '../config/environment';
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
 * the delete publishes those events again: consumers dedupe through their inbox.
 */
export class OutboxRelay {
  private readonly logger: Logger;
  private running = false;
  private loop?: Promise<void>;
  private listener?: Client;
  private wake?: () => void;
  private pendingWake = false;
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
    this.wake?.();
    // A publish stuck in kafkajs' retries (broker away) must not hold up shutdown for long.
    await Promise.race([this.loop, new Promise((r) => setTimeout(r, drainTimeoutMs).unref())]);
    if (this.lastError) {
      // The broker is unreachable: the events wait in the outbox for the next start.
      this.logger.warn(`not draining: ${this.lastError}`);
      await this.listener?.end().catch(() => undefined);
      return;
    }
    const deadline = Date.now() + drainTimeoutMs;
    try {
      while (Date.now() < deadline && (await this.publishBatch()) > 0);
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
        await this.idle(backoff);
        backoff = Math.min(backoff * 2, 5000);
      }
    }
  }

  /** Publishes up to one batch; returns how many events went out. */
  async publishBatch(): Promise<number> {
    const runner = this.dataSource.createQueryRunner();
    await runner.connect();
    try {
      await runner.startTransaction();
      const [{ locked }] = await runner.query(`SELECT pg_try_advisory_xact_lock(hashtext($1)) AS locked`, [
        `outbox:${this.options.schema}`,
      ]);
      if (!locked) {
        await runner.rollbackTransaction();
        return 0;
      }
      const rows: OutboxRow[] = await runner.query(
        `SELECT id, topic, key, envelope FROM "${this.options.schema}".outbox ORDER BY id LIMIT $1`,
        [this.options.batchSize],
      );
      if (rows.length === 0) {
        await runner.commitTransaction();
        return 0;
      }
      const messages = rows.map((r) => this.toMessage(r));
      await this.producer.send(messages);
      await runner.query(`DELETE FROM "${this.options.schema}".outbox WHERE id = ANY($1::bigint[])`, [
        rows.map((r) => r.id),
      ]);
      await runner.commitTransaction();
      const perTopic = new Map<string, number>();
      for (const m of messages) perTopic.set(m.topic, (perTopic.get(m.topic) ?? 0) + 1);
      const observer = this.options.observer ?? noopObserver;
      perTopic.forEach((n, topic) => observer.published(this.options.module, topic, n));
      return rows.length;
    } catch (e) {
      if (runner.isTransactionActive) await runner.rollbackTransaction().catch(() => undefined);
      throw e;
    } finally {
      await runner.release();
    }
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

  private idle(ms: number): Promise<void> {
    if (this.pendingWake) {
      this.pendingWake = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const finish = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(finish, ms);
      this.wake = finish;
    });
  }

  private async listen(): Promise<void> {
    const url = (this.dataSource.options as { url?: string }).url;
    while (this.running) {
      const client = new Client({ connectionString: url });
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
        await client.query(`LISTEN "outbox_${this.options.schema}"`);
        await new Promise<void>((resolve) => {
          lost = resolve;
          client.once('end', () => resolve());
        });
      } catch (e) {
        this.logger.debug(`LISTEN connection lost: ${describeError(e)}`);
      }
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
