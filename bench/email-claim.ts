// The e-mail delivery loop's claim with many mails held for their order's placed mail, against the
// same claim with none held (`npm run bench:email-claim -- [--held=N] [--due=N] [--seconds=S] [--rounds=R]`).
//
// After a backlog the email group reads `order.placed` and `order.confirmed` side by side, so many
// confirmations are queued before their order's placed mail and are held (ADR 0002). The loop claims
// after every consumer commit that queued a mail; this measures what a claim costs with the held mails
// there and without them. Two databases hold the same due mails, one also the held ones, queued through
// the app's own statement (ahead of the due ones, as after a backlog). Claims run in transactions rolled
// back, so every round claims the same rows; each is also told of 20 orders whose mails were queued
// (as after a consumer run), none of which holds a mail. Figures are ratios within the run: the
// machine is shared and noisy.
import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { claimStatement } from '../src/modules/email/deliver-mail/mail-delivery.service';
import { EmailInitial1764000000000 } from '../src/modules/email/migrations/1764000000000-email-initial';
import { EmailSentMails1765000000000 } from '../src/modules/email/migrations/1765000000000-email-sent-mails';
import { EmailHeldMails1766000000000 } from '../src/modules/email/migrations/1766000000000-email-held-mails';
import { insertMails, MailRow } from '../src/modules/email/on-order-event/queue-order-mail.service';
import { MailKind } from '../src/modules/email/sent-mail';
import { createTestDatabase } from '../test/support/test-database';
import { median } from './report';

const arg = (name: string, fallback: number) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback);
const opts = { held: arg('held', 20_000), due: arg('due', 1_000), seconds: arg('seconds', 5), rounds: arg('rounds', 4) };
const CONCURRENCY = 8;
const LEASE_MS = 60_000;

const mail = (orderId: string, kind: MailKind): MailRow => {
  const eventId = randomUUID();
  return [eventId, `<${eventId}@bench.test>`, orderId, kind, 'bench@example.com', 's', 't', 'h', 'bench'];
};

async function queue(ds: DataSource, kind: MailKind, count: number): Promise<void> {
  for (let from = 0; from < count; from += 1000) {
    const rows = Array.from({ length: Math.min(1000, count - from) }, () => mail(randomUUID(), kind));
    await insertMails(ds, rows);
  }
}

async function database(label: string, held: number): Promise<{ ds: DataSource; drop: () => Promise<void> }> {
  const db = await createTestDatabase(label);
  const ds = new DataSource({
    type: 'postgres',
    url: db.url,
    extra: { max: 1 },
    migrationsTableName: 'email_migrations',
    migrations: [EmailInitial1764000000000, EmailSentMails1765000000000, EmailHeldMails1766000000000],
  });
  await ds.initialize();
  await ds.query('CREATE SCHEMA email');
  await ds.runMigrations();
  await queue(ds, 'ORDER_CONFIRMED', held); // no placed mail: each is held
  await queue(ds, 'ORDER_PLACED', opts.due);
  await ds.query('VACUUM ANALYZE email.sent_mails');
  const [{ n }] = await ds.query(`SELECT count(*)::int AS n FROM email.sent_mails WHERE held_until IS NOT NULL`);
  if (n !== held) throw new Error(`expected ${held} held mails, found ${n}`);
  return { ds, drop: async () => (await ds.destroy(), await db.drop()) };
}

/** Claims (each in a transaction rolled back) for `opts.seconds`: claims per second. */
async function round(ds: DataSource): Promise<number> {
  const runner = ds.createQueryRunner();
  let claims = 0;
  const started = performance.now();
  try {
    while (performance.now() - started < opts.seconds * 1000) {
      await runner.startTransaction();
      // As after a consumer run's commit: the orders of the mails it queued (none of them holding one).
      const rows: { event_id: string | null }[] = await runner.query(claimStatement('email'), [LEASE_MS, CONCURRENCY, Array.from({ length: 20 }, randomUUID)]);
      if (rows.filter((r) => r.event_id !== null).length !== CONCURRENCY) throw new Error(`claimed ${rows.length} mails, expected ${CONCURRENCY}`);
      await runner.rollbackTransaction();
      claims++;
    }
  } finally {
    await runner.release();
  }
  return claims / ((performance.now() - started) / 1000);
}

async function main(): Promise<void> {
  const none = await database('emailclaim0', 0);
  const held = await database('emailclaimh', opts.held);
  try {
    const perSecond: Record<'none' | 'held', number[]> = { none: [], held: [] };
    for (let r = 0; r < opts.rounds; r++) {
      for (const name of r % 2 === 0 ? (['none', 'held'] as const) : (['held', 'none'] as const)) {
        const x = await round(name === 'none' ? none.ds : held.ds);
        perSecond[name].push(x);
        console.log(`round ${r + 1} ${name}: ${x.toFixed(0)} claims/s`);
      }
    }
    const [a, b] = [median(perSecond.none), median(perSecond.held)];
    console.log(`\n| ${opts.due.toLocaleString('en')} placed mails due (median of ${opts.rounds} alternated rounds of ${opts.seconds} s) | claims/s | ms/claim |`);
    console.log('| --- | --- | --- |');
    console.log(`| no mail held (baseline) | ${a.toFixed(0)} | ${(1000 / a).toFixed(2)} |`);
    console.log(`| ${opts.held.toLocaleString('en')} confirmations held ahead of them | ${b.toFixed(0)} (${(b / a).toFixed(2)}×) | ${(1000 / b).toFixed(2)} |`);
  } finally {
    await none.drop();
    await held.drop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
