import { getMetadataStorage } from 'class-validator';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Environment, validateEnvironment } from '../../src/platform/config/environment';

describe('.env.example', () => {
  const documented = readFileSync(join(__dirname, '../../.env.example'), 'utf8')
    .split('\n')
    .map((l) => /^([A-Z0-9_]+)=/.exec(l)?.[1])
    .filter((k): k is string => Boolean(k));
  const declared = [
    ...new Set(getMetadataStorage().getTargetValidationMetadatas(Environment, '', true, false).map((m) => m.propertyName)),
  ];

  it('documents every variable the app declares, and nothing else', () => {
    expect([...documented].sort()).toEqual([...declared].sort());
  });

  it('starts the app when copied to .env as it is (empty values included, as process.loadEnvFile reads them)', () => {
    const values = Object.fromEntries(
      readFileSync(join(__dirname, '../../.env.example'), 'utf8')
        .split('\n')
        .map((l) => /^([A-Z0-9_]+)=(.*)$/.exec(l))
        .filter((m): m is RegExpExecArray => m !== null)
        .map((m) => [m[1], m[2]]),
    );
    expect(Object.values(values)).toContain(''); // the optional ones are there, empty
    expect(() => validateEnvironment(values)).not.toThrow();
  });
});

describe(validateEnvironment.name, () => {
  it('names the bad variable when start-up config is invalid', () => {
    expect(() => validateEnvironment({ PORT: 'eighty', MODULES: 'order,billing' })).toThrow(/PORT[\s\S]*MODULES must be/);
  });

  it('reads an empty value as not set: the default applies', () => {
    const env = validateEnvironment({ PORT: '', KAFKA_AUTOSTART_LOCAL: '', DATABASE_PIPELINE: '', ORDER_DATABASE_URL: '' });
    const defaults = new Environment();
    expect([env.PORT, env.KAFKA_AUTOSTART_LOCAL, env.DATABASE_PIPELINE, env.ORDER_DATABASE_URL]).toEqual([
      defaults.PORT,
      defaults.KAFKA_AUTOSTART_LOCAL,
      defaults.DATABASE_PIPELINE,
      undefined,
    ]);
  });

  it('reads an empty list as the empty list (no retry topics), not as its default', () => {
    expect(validateEnvironment({ KAFKA_RETRY_DELAYS_MS: '', CORS_ORIGINS: '' })).toMatchObject({ KAFKA_RETRY_DELAYS_MS: [], CORS_ORIGINS: [] });
  });

  it('refuses a timer setting past what Node can wait (it would fire after 1 ms, back to back)', () => {
    expect(() => validateEnvironment({ ORDER_EXPIRY_SWEEP_MS: '3000000000' })).toThrow(/ORDER_EXPIRY_SWEEP_MS/);
    expect(validateEnvironment({ ORDER_EXPIRY_SWEEP_MS: '3600000' }).ORDER_EXPIRY_SWEEP_MS).toBe(3_600_000);
  });

  it('reads MODULES as a trimmed list', () => {
    expect(validateEnvironment({ MODULES: ' email , order ' }).MODULES).toEqual(['email', 'order']);
  });
});
