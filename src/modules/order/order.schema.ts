/** The Postgres schema the order module owns. */
export const ORDER_SCHEMA = 'orders';
