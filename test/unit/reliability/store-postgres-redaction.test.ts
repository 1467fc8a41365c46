/**
 * A PostgreSQL server given as a connection string in the "Server" field (postgres://user:password@host/db):
 * the driver echoes the host it could not reach, and the store names the server in its errors.
 */
import { inspect } from 'node:util';
import { openStore } from '../../../lib/reliability/store';

describe('PostgreSQL store errors', () => {
  it('never carry the password of a server address written as a URL', async () => {
    const store = openStore({
      backend: 'postgres',
      postgres: { host: 'postgres://ops:pg-Secret-77@nohost.invalid/finance', port: 5432, user: 'ops' },
    });
    try {
      const error = (await store.countOpen().then(
        () => undefined,
        (err: unknown) => err,
      )) as Error & { code?: string; cause?: unknown };
      expect(error).toMatchObject({ code: 'STORE_UNAVAILABLE' });
      // Node-RED copies message, stack and cause of an error onto the Catch message.
      const everything = `${error.message} ${String(error.stack)} ${JSON.stringify(error)} ${inspect(error.cause)}`;
      expect(everything).not.toContain('pg-Secret-77');
      expect(error.message).toContain('ENOTFOUND');
    } finally {
      await store.close();
    }
  });
});
