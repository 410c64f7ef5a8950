/** The Postgres schema the warehouse module owns. */
export const WAREHOUSE_SCHEMA = 'warehouse';
