import { execFile } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const root = resolve(__dirname, '../..');
const script = join(root, 'scripts/kafka/kafka.sh');
const run = promisify(execFile);

export type SecureUser = 'admin' | 'order' | 'warehouse' | 'email' | 'analytics';

export interface SecureBroker {
  brokers: string;
  caFile: string;
  password(user: SecureUser): string;
  /** The app's KAFKA_* overrides to connect as `user` (SCRAM-SHA-512 over TLS with the generated CA). */
  env(user: SecureUser, password?: string): Record<string, string>;
  stop(): Promise<void>;
}

const portFree = (port: number) =>
  new Promise<boolean>((done) => {
    const server = createServer();
    server.once('error', () => done(false));
    server.listen(port, '127.0.0.1', () => server.close(() => done(true)));
  });

/** Two free neighbouring ports (client and controller listener), never the shared 9092/19092 brokers. */
async function freePortPair(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 30_000 + Math.floor(Math.random() * 10_000) * 2; // even, 30000-49998
    if ((await portFree(port)) && (await portFree(port + 1))) return port;
  }
  throw new Error('no two free neighbouring ports found for the secure broker');
}

/** Starts a fresh SASL_SSL broker of its own with scripts/kafka/kafka.sh (KAFKA_SECURE=1). */
export async function startSecureBroker(): Promise<SecureBroker> {
  const port = await freePortPair();
  const env = { ...process.env, KAFKA_SECURE: '1', KAFKA_PORT: String(port), KAFKA_FRESH: '1', KAFKA_HEAP: '384m' };
  await run('bash', [script, 'start'], { env, timeout: 180_000 });
  const nodeDir = join(root, '.cache/kafka', `node-${port}`);
  const credentials = readFileSync(join(nodeDir, 'secure/credentials.env'), 'utf8');
  const password = (user: SecureUser) => {
    const match = new RegExp(`^KAFKA_SECURE_PASSWORD_${user.toUpperCase()}=(.+)$`, 'm').exec(credentials);
    if (!match) throw new Error(`no password for ${user} in ${nodeDir}/secure/credentials.env`);
    return match[1];
  };
  const brokers = `127.0.0.1:${port}`;
  const caFile = join(nodeDir, 'secure/ca.pem');
  return {
    brokers,
    caFile,
    password,
    env: (user, pw = password(user)) => ({
      KAFKA_BROKERS: brokers,
      KAFKA_SSL: 'true',
      KAFKA_SSL_CA_FILE: caFile,
      KAFKA_SASL_MECHANISM: 'scram-sha-512',
      KAFKA_SASL_USERNAME: user,
      KAFKA_SASL_PASSWORD: pw,
    }),
    stop: async () => {
      await run('bash', [script, 'stop'], { env: { ...env, KAFKA_FRESH: '0' }, timeout: 60_000 });
      rmSync(nodeDir, { recursive: true, force: true }); // its data, keys and passwords
    },
  };
}
