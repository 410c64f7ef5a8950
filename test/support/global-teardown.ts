/* eslint-disable @typescript-eslint/no-require-imports */
const { stopKafka } = require('../../scripts/infra');

export default async function globalTeardown(): Promise<void> {
  const infra = (globalThis as Record<string, unknown>).__INFRA__ as
    | { kafkaPort?: number; stopPg?: () => Promise<void> }
    | undefined;
  if (infra?.kafkaPort && !process.env.KEEP_TEST_KAFKA) stopKafka(infra.kafkaPort);
  await infra?.stopPg?.();
}
