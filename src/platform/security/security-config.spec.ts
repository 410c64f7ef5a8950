import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateEnvironment, validateToolEnvironment } from '../config/environment';
import { describeKafkaConnection, kafkaClientConfig, registerKafkaSecurity } from '../kafka/kafka-client';
import { rateLimitMax } from './security.module';

const production = { NODE_ENV: 'production', SMTP_URL: 'smtp://mail:25', ADMIN_TOKEN: 'a-long-enough-production-token-42' };

describe('security configuration', () => {
  it('refuses the default ADMIN_TOKEN in production, naming the variable', () => {
    expect(() => validateEnvironment({ ...production, ADMIN_TOKEN: 'change-me-admin-token' })).toThrow(
      /ADMIN_TOKEN: .*must be changed from the default/,
    );
    expect(() => validateEnvironment({ ...production, ADMIN_TOKEN: 'change-me' })).toThrow(/ADMIN_TOKEN/);
  });

  it('refuses the default ADMIN_TOKEN whenever others can reach the app, whatever NODE_ENV says', () => {
    expect(() => validateEnvironment({ HOST: '0.0.0.0' })).toThrow(/ADMIN_TOKEN must be changed from the default when the app listens beyond loopback/);
    expect(() => validateEnvironment({ TRUST_PROXY: '127.0.0.1' })).toThrow(/ADMIN_TOKEN must be changed/);
    expect(() => validateEnvironment({ HOST: '::', ADMIN_TOKEN: 'change-me-too' })).toThrow(/ADMIN_TOKEN must be changed/);
    // Loopback only (the dev default), or a token of one's own: as before.
    expect(validateEnvironment({ HOST: '127.0.0.1' }).ADMIN_TOKEN).toBe('change-me-admin-token');
    expect(validateEnvironment({ HOST: '::1' }).HOST).toBe('::1');
    expect(validateEnvironment({ HOST: '0.0.0.0', TRUST_PROXY: '10.0.0.0/8', ADMIN_TOKEN: 'short-but-8-plus' }).ADMIN_TOKEN).toBe('short-but-8-plus');
  });

  it('does not ask a command-line tool for ADMIN_TOKEN (a docker compose run in the production image has none), and still checks the rest', () => {
    const image = { NODE_ENV: 'production', HOST: '0.0.0.0', SMTP_URL: 'smtp://mail:25' };
    expect(() => validateEnvironment({ ...image, ADMIN_TOKEN: '' })).toThrow(/ADMIN_TOKEN/);
    expect(validateToolEnvironment({ ...image, ADMIN_TOKEN: '' }).NODE_ENV).toBe('production');
    expect(() => validateToolEnvironment({ ...image, KAFKA_SASL_MECHANISM: 'scram-sha-512' })).toThrow(/KAFKA_SASL_USERNAME/);
  });

  it('refuses a Postgres timeout above what Postgres takes (2^31-1 ms), naming it', () => {
    expect(() => validateEnvironment({ ANALYTICS_READ_TIMEOUT_MS: '2147483648' })).toThrow(/ANALYTICS_READ_TIMEOUT_MS/);
    expect(() => validateEnvironment({ DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS: '2147483648' })).toThrow(/DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS/);
    expect(validateEnvironment({ ANALYTICS_READ_TIMEOUT_MS: '2147483647' }).ANALYTICS_READ_TIMEOUT_MS).toBe(2147483647);
  });

  it('refuses an ADMIN_TOKEN shorter than 24 characters in production only', () => {
    expect(() => validateEnvironment({ ...production, ADMIN_TOKEN: 'short-but-8-plus' })).toThrow(/at least 24 characters/);
    expect(validateEnvironment({ ADMIN_TOKEN: 'short-but-8-plus' }).ADMIN_TOKEN).toBe('short-but-8-plus');
    expect(validateEnvironment(production).ADMIN_TOKEN).toBe(production.ADMIN_TOKEN);
  });

  it('requires a username and password when a SASL mechanism is set, without echoing values', () => {
    let message = '';
    try {
      validateEnvironment({ KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512', KAFKA_SASL_USERNAME: 'email' });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain('KAFKA_SASL_PASSWORD is required when KAFKA_SASL_MECHANISM is set');
    expect(message).not.toContain('KAFKA_SASL_USERNAME');
    expect(() => validateEnvironment({ KAFKA_SASL_MECHANISM: 'kerberos' })).toThrow(/KAFKA_SASL_MECHANISM must be one of/);
  });

  it('refuses SASL PLAIN without TLS and unverified TLS in production', () => {
    const plain = { ...production, KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p' };
    expect(() => validateEnvironment(plain)).toThrow(/KAFKA_SASL_MECHANISM=plain sends the password in clear text/);
    expect(() => validateEnvironment({ ...plain, KAFKA_SSL: 'true' })).not.toThrow();
    expect(() => validateEnvironment({ ...production, KAFKA_SSL: 'true', KAFKA_SSL_REJECT_UNAUTHORIZED: 'false' })).toThrow(
      /KAFKA_SSL_REJECT_UNAUTHORIZED=false is refused/,
    );
  });

  it('names a missing CA file, and a client certificate without its key', () => {
    expect(() => validateEnvironment({ KAFKA_SSL: 'true', KAFKA_SSL_CA_FILE: '/nope/ca.pem' })).toThrow(/KAFKA_SSL_CA_FILE must name an existing/);
    const dir = mkdtempSync(join(tmpdir(), 'tls-'));
    writeFileSync(join(dir, 'cert.pem'), 'CERT');
    expect(() => validateEnvironment({ KAFKA_SSL_CERT_FILE: join(dir, 'cert.pem') })).toThrow(/KAFKA_SSL_KEY_FILE must name an existing/);
  });

  it('reads true/false, 1/0, yes/no and on/off in any case, and stops on anything else, naming the variable', () => {
    expect(validateEnvironment({ KAFKA_SSL: 'TRUE' }).KAFKA_SSL).toBe(true);
    expect(validateEnvironment({ KAFKA_SSL: ' On ' }).KAFKA_SSL).toBe(true);
    expect(validateEnvironment({ DATABASE_PIPELINE: 'No' }).DATABASE_PIPELINE).toBe(false);
    expect(validateEnvironment({ SMTP_TLS_REJECT_UNAUTHORIZED: '0' }).SMTP_TLS_REJECT_UNAUTHORIZED).toBe(false);
    expect(() => validateEnvironment({ KAFKA_SSL: 'ture' })).toThrow(/KAFKA_SSL: .*boolean/);
    expect(() => validateEnvironment({ SMTP_TLS_REJECT_UNAUTHORIZED: 'True!' })).toThrow(/SMTP_TLS_REJECT_UNAUTHORIZED/);
  });

  it('refuses TLS files without KAFKA_SSL, and SASL credentials without a mechanism (they would be ignored)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tls-'));
    writeFileSync(join(dir, 'ca.pem'), 'CA');
    expect(() => validateEnvironment({ KAFKA_SSL_CA_FILE: join(dir, 'ca.pem') })).toThrow(/KAFKA_SSL_CA_FILE is only used with KAFKA_SSL=true/);
    expect(validateEnvironment({ KAFKA_SSL: 'true', KAFKA_SSL_CA_FILE: join(dir, 'ca.pem') }).KAFKA_SSL_CA_FILE).toBe(join(dir, 'ca.pem'));
    expect(() => validateEnvironment({ ...production, KAFKA_SASL_USERNAME: 'order', KAFKA_SASL_PASSWORD: 'x' })).toThrow(
      /KAFKA_SASL_USERNAME is only used with KAFKA_SASL_MECHANISM/,
    );
    expect(() => validateEnvironment({ KAFKA_SASL_PASSWORD: 'x' })).toThrow(/KAFKA_SASL_PASSWORD is only used with KAFKA_SASL_MECHANISM/);
  });

  it('refuses unverified SMTP TLS in production, and an ADMIN_TOKEN no Authorization header can carry', () => {
    expect(() => validateEnvironment({ ...production, SMTP_TLS_REJECT_UNAUTHORIZED: 'false' })).toThrow(/SMTP_TLS_REJECT_UNAUTHORIZED=false is refused/);
    expect(() => validateEnvironment({ ...production, ADMIN_TOKEN: `${production.ADMIN_TOKEN}\n` })).toThrow(/ADMIN_TOKEN must not contain whitespace/);
    expect(() => validateEnvironment({ ADMIN_TOKEN: 'two words here' })).toThrow(/ADMIN_TOKEN must not contain whitespace/);
  });

  it('refuses an empty MODULES (which would start a process running nothing, reported ready) and a module named twice', () => {
    expect(() => validateEnvironment({ MODULES: '' })).toThrow(/MODULES must name at least one module/);
    expect(() => validateEnvironment({ MODULES: ' , ' })).toThrow(/MODULES must name at least one module/);
    expect(() => validateEnvironment({ MODULES: 'order,order' })).toThrow(/MODULES must name each module once/);
    expect(validateEnvironment({}).MODULES).toEqual(['order', 'warehouse', 'email', 'analytics']);
    expect(validateEnvironment({ MODULES: 'email, order' }).MODULES).toEqual(['email', 'order']);
  });

  it('reads TRUST_PROXY as proxy addresses and ranges, and refuses "trust everyone" and hop counts (they trust any direct client)', () => {
    const own = { ADMIN_TOKEN: 'a-token-of-our-own' };
    expect(validateEnvironment({ ...own, TRUST_PROXY: '10.0.0.0/8, 127.0.0.1, ::1' }).TRUST_PROXY).toEqual(['10.0.0.0/8', '127.0.0.1', '::1']);
    expect(validateEnvironment({}).TRUST_PROXY).toBeUndefined();
    for (const bad of ['true', '*', '10.0.0.0/33', 'proxy.internal', '0', '1', '2']) {
      expect(() => validateEnvironment({ ...own, TRUST_PROXY: bad })).toThrow(/TRUST_PROXY must be a comma list/);
    }
  });

  it('rejects CORS_ORIGINS that are not origins', () => {
    expect(validateEnvironment({ CORS_ORIGINS: 'https://shop.example.com, http://localhost:5173' }).CORS_ORIGINS).toEqual([
      'https://shop.example.com',
      'http://localhost:5173',
    ]);
    expect(() => validateEnvironment({ CORS_ORIGINS: '*' })).toThrow(/CORS_ORIGINS must be a comma list of origins/);
  });

  it('defaults the rate limit to 300 per window in production, lenient in development and tests', () => {
    expect(rateLimitMax({ NODE_ENV: 'production', RATE_LIMIT_MAX: undefined })).toBe(300);
    expect(rateLimitMax(validateEnvironment({}))).toBe(100_000);
    expect(rateLimitMax(validateEnvironment({ NODE_ENV: 'test' }))).toBe(100_000);
    expect(rateLimitMax(validateEnvironment({ NODE_ENV: 'test', RATE_LIMIT_MAX: '5' }))).toBe(5);
  });
});

describe(kafkaClientConfig.name, () => {
  const dir = mkdtempSync(join(tmpdir(), 'kafka-tls-'));
  for (const f of ['ca', 'cert', 'key']) writeFileSync(join(dir, `${f}.pem`), `${f.toUpperCase()} PEM`);
  const secure = validateEnvironment({
    KAFKA_BROKERS: 'broker-1:9093',
    KAFKA_CLIENT_ID: 'unit',
    KAFKA_SSL: 'true',
    KAFKA_SSL_CA_FILE: join(dir, 'ca.pem'),
    KAFKA_SSL_CERT_FILE: join(dir, 'cert.pem'),
    KAFKA_SSL_KEY_FILE: join(dir, 'key.pem'),
    KAFKA_SASL_MECHANISM: 'scram-sha-256',
    KAFKA_SASL_USERNAME: 'order',
    KAFKA_SASL_PASSWORD: 's3cret-value',
  });

  it('passes TLS files and SASL credentials to the client', () => {
    const config = kafkaClientConfig(secure, 'producer');
    expect(config.sasl).toEqual({ mechanism: 'scram-sha-256', username: 'order', password: 's3cret-value' });
    expect(config.ssl).toEqual({
      rejectUnauthorized: true,
      ca: [Buffer.from('CA PEM')],
      cert: Buffer.from('CERT PEM'),
      key: Buffer.from('KEY PEM'),
    });
  });

  it('gives clients that pass only brokers and client id the security registered for them', () => {
    expect(kafkaClientConfig({ KAFKA_BROKERS: 'broker-1:9093', KAFKA_CLIENT_ID: 'unit' }, 'health').sasl).toBeUndefined();
    registerKafkaSecurity(secure);
    const config = kafkaClientConfig({ KAFKA_BROKERS: 'broker-1:9093', KAFKA_CLIENT_ID: 'unit' }, 'health');
    expect(config.sasl).toMatchObject({ username: 'order' });
    expect(config.ssl).toMatchObject({ rejectUnauthorized: true });
    expect(kafkaClientConfig({ KAFKA_BROKERS: '127.0.0.1:9092', KAFKA_CLIENT_ID: 'unit' }, 'x').sasl).toBeUndefined();
  });

  it('describes the connection with its principal and never its password', () => {
    const text = describeKafkaConnection(secure);
    expect(text).toBe('SASL_SSL broker-1:9093 as order (SCRAM-SHA-256)');
    expect(text).not.toContain('s3cret');
  });

  it('leaves a plaintext cluster without ssl or sasl', () => {
    const config = kafkaClientConfig(validateEnvironment({}), 'admin');
    expect(config.ssl).toBeUndefined();
    expect(config.sasl).toBeUndefined();
  });
});
