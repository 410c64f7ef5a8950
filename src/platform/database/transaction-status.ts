import { DataSource } from 'typeorm';
import { isInfrastructureError } from '../kafka/errors';

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

/**
 * Whether a transaction that failed with `error` committed all the same: the connection was lost
 * during or after its COMMIT (an infrastructure error) and `txid_status` says it is in. False when
 * it was not written (`xid` undefined), failed otherwise, or the database cannot say.
 */
export async function committedDespite(error: unknown, dataSource: DataSource, xid: string | undefined): Promise<boolean> {
  if (xid === undefined || !isInfrastructureError(error)) return false;
  return (await transactionCommitted(dataSource, xid).catch(() => undefined)) === true;
}
