import { Admin, AssignerProtocol } from 'kafkajs';
import { Client } from 'pg';

const MODULES = ['order', 'warehouse', 'email', 'analytics'] as const;
const SCHEMAS = ['orders', 'warehouse', 'email', 'analytics'];

/** What is still waiting: outbox rows per schema and consumer lag per group (over its assigned partitions). */
export async function backlog(admin: Admin, prefix: string, databaseUrl: string): Promise<{ outbox: number; lag: Record<string, number> }> {
  const pg = new Client({ connectionString: databaseUrl });
  await pg.connect();
  let outbox = 0;
  try {
    for (const s of SCHEMAS) outbox += Number((await pg.query(`SELECT count(*)::int AS n FROM "${s}".outbox`)).rows[0].n);
  } finally {
    await pg.end();
  }
  const lag: Record<string, number> = {};
  const { groups } = await admin.describeGroups(MODULES.map((m) => `${prefix}${m}`));
  for (const g of groups) {
    const topics = new Set<string>();
    for (const member of g.members) {
      const decoded = AssignerProtocol.MemberAssignment.decode(member.memberAssignment);
      Object.keys(decoded?.assignment ?? {}).forEach((t) => topics.add(t));
    }
    let total = 0;
    if (topics.size > 0) {
      const committed = await admin.fetchOffsets({ groupId: g.groupId, topics: [...topics] });
      for (const { topic, partitions } of committed) {
        const high = new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, Number(p.high)]));
        for (const p of partitions) total += Math.max(0, (high.get(p.partition) ?? 0) - Math.max(0, Number(p.offset)));
      }
    }
    lag[g.groupId.slice(prefix.length)] = total;
  }
  return { outbox, lag };
}

export function isEmpty(b: { outbox: number; lag: Record<string, number> }): boolean {
  return b.outbox === 0 && Object.values(b.lag).every((n) => n === 0) && Object.keys(b.lag).length === MODULES.length;
}
