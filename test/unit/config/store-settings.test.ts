import { describeStore, storeOptions } from '../../../lib/config/store-settings';

describe('finance-store dialog settings', () => {
  it('defaults to LMDB under the user directory', () => {
    expect(storeOptions({}, '/home/nr/.node-red')).toMatchObject({
      backend: 'lmdb',
      path: '/home/nr/.node-red/finance-sync/store',
      maxInboxEntries: 1_000_000,
    });
  });

  it('reads the PostgreSQL connection, with the password from the credentials only', () => {
    const options = storeOptions(
      {
        backend: 'postgres',
        pgHost: 'db.internal',
        pgPort: '6432',
        pgDatabase: 'finance',
        pgUser: 'nodered',
        pgSchema: 'finance_sync',
        pgTablePrefix: 'eu_',
        pgSsl: true,
        pgPoolSize: '5',
      },
      '/home/nr/.node-red',
      { pgPassword: 'pw' },
    );
    expect(options).toMatchObject({
      backend: 'postgres',
      postgres: {
        host: 'db.internal',
        port: 6432,
        database: 'finance',
        user: 'nodered',
        password: 'pw',
        ssl: true,
        poolSize: 5,
        schema: 'finance_sync',
        tablePrefix: 'eu_',
      },
    });
    expect(describeStore(options)).toBe('PostgreSQL nodered@db.internal:6432/finance schema finance_sync tables eu_*');
    expect(describeStore(options)).not.toContain('pw');
  });

  it.each([
    [{ backend: 'redis' }, /Store type "redis" is unknown/],
    [{ backend: 'postgres', pgSchema: 'Finance-Sync' }, /Schema "Finance-Sync" must be lower-case/],
    [{ backend: 'postgres', pgTablePrefix: 'x;' }, /Table prefix "x;"/],
    [{ backend: 'postgres', pgPort: '70000' }, /PostgreSQL port must be a whole number from 1 to 65535/],
  ])('refuses %j with a message naming the field', (settings, message) => {
    expect(() => storeOptions(settings, '/tmp')).toThrow(message);
  });
});
