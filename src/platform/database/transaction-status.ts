import { DataSource } from 'typeorm';

/**
 * Whether a transaction whose COMMIT's answer was lost committed, by its id (`txid_status`): a
 * COMMIT that reached the server may still be flushing, so "in progress" is asked again for a while.
 * Undefined when the database cannot say. The caller read the id with `txid_current()` in that
 * transaction, before anything that could fail.
 */
export async function transactionCommitted(dataSource: DataSource, xid: string): Promise<boolean | undefined> {
  for (let wait = 10; wait <= 1280; wait *= 2) {
    const [{ status }]: { status: string | null }[] = await dataSource.query(`SELECT txid_status($1::bigint) AS status`, [xid]);
    if (status === 'committed') return true;
    if (status === 'aborted') return false;
    if (status === null) return undefined; // too old to tell: cannot happen seconds later
    await new Promise((r) => setTimeout(r, wait));
  }
  return undefined;
}
