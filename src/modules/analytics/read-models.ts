import { DataSource, EntityManager } from 'typeorm';

/**
 * Runs read-model queries in one REPEATABLE READ snapshot, so every number of an answer (and its
 * projection version) comes from the same committed state.
 */
export function inSnapshot<T>(dataSource: DataSource, work: (m: EntityManager) => Promise<T>): Promise<T> {
  return dataSource.transaction('REPEATABLE READ', async (m) => {
    await m.query('SET TRANSACTION READ ONLY');
    return work(m);
  });
}
