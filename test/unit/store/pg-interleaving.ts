/**
 * Forcing an interleaving of PostgreSQL store calls without relying on timing: a second connection holds a row
 * lock (standing for another host in the middle of its statement), and the test waits until the store's own
 * statements are seen queued behind it in pg_stat_activity before it lets go.
 */
import { Client } from 'pg';
import { TEST_PG } from './store-fixture';

export interface RowLocker {
  /** Locks the rows `sql` selects (it should end in FOR UPDATE) in an open transaction. */
  lock(sql: string, values: unknown[]): Promise<void>;
  /** Runs a statement in the locking transaction (e.g. what the other host does while it holds the row). */
  query(sql: string, values: unknown[]): Promise<void>;
  /** Resolves once `count` statements that mention `fragment` (e.g. the schema name) wait for a lock. */
  waitForWaiters(fragment: string, count: number): Promise<void>;
  /** Commits the transaction, which lets the waiting statements go on, and disconnects. */
  commit(): Promise<void>;
}

export async function rowLocker(): Promise<RowLocker> {
  const holder = new Client(TEST_PG);
  const observer = new Client(TEST_PG);
  await Promise.all([holder.connect(), observer.connect()]);
  return {
    async lock(sql, values) {
      await holder.query('BEGIN');
      await holder.query(sql, values);
    },
    async query(sql, values) {
      await holder.query(sql, values);
    },
    async waitForWaiters(fragment, count) {
      for (;;) {
        const waiting = await observer.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_activity
           WHERE wait_event_type = 'Lock' AND position($1 in query) > 0 AND pid <> pg_backend_pid()`,
          [fragment],
        );
        if (waiting.rows[0].n >= count) return;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    },
    async commit() {
      await holder.query('COMMIT');
      await Promise.all([holder.end(), observer.end()]);
    },
  };
}
