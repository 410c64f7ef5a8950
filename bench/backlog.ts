import { Admin, AssignerProtocol } from 'kafkajs';
import { Client } from 'pg';

const MODULES = ['order', 'warehouse', 'email', 'analytics'] as const;
const SCHEMAS = ['orders', 'warehouse', 'email', 'analytics'];

export interface Backlog {
  outbox: number;
  /** Per group; NaN while it cannot be read (the group rebalancing, or holding no partitions). */
  lag: Record<string, number>;
  /** Mails queued but not yet delivered (QUEUED or SENDING): the email module's own queue, after its group. */
  mails: number;
}

/**
 * What is still waiting: outbox rows per schema, consumer lag per group (over its assigned
 * partitions) and mails still owed. The probe runs every few hundred ms beside the app on the same
 * two cores, so it keeps one database connection (a new one costs Postgres a process) and reads each
 * topic's end offsets once per look, not once per group subscribed to it.
 */
export class BacklogProbe {
  private pg?: Promise<Client>;

  constructor(
    private readonly admin: Admin,
    private readonly prefix: string,
    private readonly databaseUrl: string,
  ) {}

  async read(): Promise<Backlog> {
    this.pg ??= this.connect();
    const counts = SCHEMAS.map((s) => `(SELECT count(*) FROM "${s}".outbox)`).join(' + ');
    const [row] = (
      await (await this.pg).query(`SELECT ${counts} AS n, (SELECT count(*) FROM email.sent_mails WHERE status IN ('QUEUED', 'SENDING')) AS mails`)
    ).rows;
    const [outbox, mails] = [Number(row.n), Number(row.mails)];
    const { groups } = await this.admin.describeGroups(MODULES.map((m) => `${this.prefix}${m}`));
    const ends = new Map<string, Promise<Map<number, number>>>();
    const endsOf = (topic: string) => {
      if (!ends.has(topic)) ends.set(topic, this.admin.fetchTopicOffsets(topic).then((os) => new Map(os.map((p) => [p.partition, Number(p.high)]))));
      return ends.get(topic)!;
    };
    const lag: Record<string, number> = {};
    for (const g of groups) {
      const topics = new Set<string>();
      for (const member of g.members) {
        const decoded = AssignerProtocol.MemberAssignment.decode(member.memberAssignment);
        Object.keys(decoded?.assignment ?? {}).forEach((t) => topics.add(t));
      }
      // Rebalancing, or a consumer restarting: no assignment to read, which is not the same as no lag.
      if (g.state !== 'Stable' || topics.size === 0) {
        lag[g.groupId.slice(this.prefix.length)] = Number.NaN;
        continue;
      }
      let total = 0;
      for (const { topic, partitions } of await this.admin.fetchOffsets({ groupId: g.groupId, topics: [...topics] })) {
        const high = await endsOf(topic);
        for (const p of partitions) total += Math.max(0, (high.get(p.partition) ?? 0) - Math.max(0, Number(p.offset)));
      }
      lag[g.groupId.slice(this.prefix.length)] = total;
    }
    return { outbox, lag, mails };
  }

  async close(): Promise<void> {
    const pg = this.pg;
    this.pg = undefined;
    await pg?.then((c) => c.end()).catch(() => undefined);
  }

  private async connect(): Promise<Client> {
    const c = new Client({ connectionString: this.databaseUrl });
    try {
      await c.connect();
    } catch (e) {
      this.pg = undefined; // the next look tries again
      throw e;
    }
    return c;
  }
}

/** Every event published and consumed by every group (mails may still be on their way out). */
export function eventsDone(b: Backlog): boolean {
  return b.outbox === 0 && Object.values(b.lag).every((n) => n === 0) && Object.keys(b.lag).length === MODULES.length;
}

/** Nothing left at all: every event consumed and every mail delivered. */
export function isEmpty(b: Backlog): boolean {
  return eventsDone(b) && b.mails === 0;
}
