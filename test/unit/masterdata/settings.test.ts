import { masterDataSettings, syncRequestOf } from '../../../lib/masterdata';

describe('finance-master-data dialog settings', () => {
  it('defaults: sync every kind from the ERP every 15 minutes, full daily, 60 s overlap, fresh for an hour', () => {
    expect(masterDataSettings({})).toEqual({
      mode: 'sync',
      cache: 'default',
      owners: ['employees', 'suppliers', 'costCenters', 'projects', 'glAccounts', 'taxCodes'].map((kind) => ({
        kind,
        owner: 'erp',
      })),
      sourcePath: '',
      intervalMs: 900_000,
      fullAfterMs: 86_400_000,
      freshForMs: 3_600_000,
      syncOnStart: true,
      pageSize: 200,
      overlapMs: 60_000,
    });
  });

  it('reads owners per kind, the source path, the schedule and publishing', () => {
    const settings = masterDataSettings({
      cache: 'hr',
      employeesFrom: 'source',
      suppliersFrom: 'none',
      sourcePath: '/hr/{kind}',
      intervalMinutes: '0',
      syncOnStart: 'false',
      publish: 'true',
      brokerUrl: 'mqtt://127.0.0.1:1883',
      topicPrefix: 'finance/md/',
    });
    expect(settings.owners[0]).toEqual({ kind: 'employees', owner: 'source' });
    expect(settings.owners.map((owner) => owner.kind)).not.toContain('suppliers');
    expect(settings).toMatchObject({
      cache: 'hr',
      sourcePath: '/hr/{kind}',
      intervalMs: 0,
      syncOnStart: false,
      publish: { brokerUrl: 'mqtt://127.0.0.1:1883', topicPrefix: 'finance/md' },
    });
  });

  it('reads "the ERP, else the source", which needs the source path', () => {
    const settings = masterDataSettings({ employeesFrom: 'erp-or-source', sourcePath: '/hr/{kind}' });
    expect(settings.owners[0]).toEqual({ kind: 'employees', owner: 'erp-or-source' });
    expect(settings.sourcePath).toBe('/hr/{kind}');
    expect(() => masterDataSettings({ employeesFrom: 'erp-or-source', sourcePath: '/hr' })).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', details: { field: 'sourcePath' } }),
    );
  });

  it.each([
    [{ mode: 'copy' }, 'mode'],
    [{ cache: 'no spaces' }, 'Cache'],
    [{ employeesFrom: 'hr' }, 'employeesFrom'],
    [{ employeesFrom: 'source', sourcePath: '/masterdata' }, 'sourcePath'],
    [{ pageSize: '0' }, 'Page size'],
    [{ publish: true, topicPrefix: 'finance/#' }, 'topicPrefix'],
    [
      Object.fromEntries(
        ['employees', 'suppliers', 'costCenters', 'projects', 'glAccounts', 'taxCodes'].map((kind) => [
          `${kind}From`,
          'none',
        ]),
      ),
      'employeesFrom',
    ],
  ])('refuses %j naming the field', (dialog, field) => {
    expect(() => masterDataSettings(dialog)).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', details: { field } }),
    );
  });
});

describe('sync requests from input messages', () => {
  it('reads the mode and kinds from the message or its payload, delta by default', () => {
    expect(syncRequestOf({ payload: 'tick' })).toEqual({ mode: 'delta' });
    expect(syncRequestOf({ payload: { sync: 'full', kinds: ['employees'] } })).toEqual({
      mode: 'full',
      kinds: ['employees'],
    });
    expect(syncRequestOf({ sync: 'full' })).toEqual({ mode: 'full' });
    expect(() => syncRequestOf({ sync: 'all' })).toThrow(expect.objectContaining({ code: 'SCHEMA_INVALID' }));
    expect(() => syncRequestOf({ payload: { kinds: ['people'] } })).toThrow(/kinds must be/);
  });
});
