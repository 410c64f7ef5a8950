#!/usr/bin/env node
// `npm run start:dev` runs this first: a broker and a database for the app, started if missing.
'use strict';
const fs = require('node:fs');
const { ensureKafka, ensurePostgres, ensureDatabase } = require('./infra');

if (fs.existsSync('.env')) process.loadEnvFile('.env');
const brokers = process.env.KAFKA_BROKERS || '127.0.0.1:9092';
const databaseUrl = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/shop';

(async () => {
  // Read as the app's Environment reads a switch: unset or empty keeps the default (true); true/1/yes/on
  // in any case is true; anything else is false here (the app itself then stops, naming the variable).
  const autostart = ['', 'true', '1', 'yes', 'on'].includes((process.env.KAFKA_AUTOSTART_LOCAL ?? '').trim().toLowerCase());
  if (autostart) await ensureKafka(brokers);
  await ensurePostgres(databaseUrl);
  await ensureDatabase(databaseUrl);
  console.error(`[infra] Kafka at ${brokers}, Postgres database ${new URL(databaseUrl).pathname.slice(1)} ready`);
})().catch((e) => {
  console.error(`[infra] ${e.message}`);
  process.exit(1);
});
