/** The Postgres schema the analytics module owns. */
export const ANALYTICS_SCHEMA = 'analytics';
