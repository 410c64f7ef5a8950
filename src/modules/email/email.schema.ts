/** The Postgres schema the email module owns. */
export const EMAIL_SCHEMA = 'email';
