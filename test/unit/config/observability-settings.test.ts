import * as path from 'node:path';
import { auditSettings, metricsSettings } from '../../../lib/config/observability-settings';

describe('finance-audit dialog', () => {
  it('defaults to finance-sync/audit in the user directory, 10 MB files, recording every node', () => {
    expect(auditSettings({}, '/home/nr/.node-red')).toEqual({
      dir: path.join('/home/nr/.node-red', 'finance-sync', 'audit'),
      maxFileBytes: 10 * 1024 * 1024,
      recordNodes: true,
    });
  });

  it('takes a relative directory from the user directory and an absolute one as it is', () => {
    expect(auditSettings({ directory: 'trail', maxFileMb: '2', recordNodes: false }, '/u')).toEqual({
      dir: path.resolve('/u', 'trail'),
      maxFileBytes: 2 * 1024 * 1024,
      recordNodes: false,
    });
    expect(auditSettings({ directory: '/var/audit' }, '/u').dir).toBe(path.resolve('/var/audit'));
  });

  it('refuses a file size it cannot use, naming the field', () => {
    expect(() => auditSettings({ maxFileMb: '0' }, '/u')).toThrow(/Rotate at/);
  });
});

describe('finance-metrics dialog', () => {
  it('defaults to the admin endpoint at "metrics", spend read at most once a minute', () => {
    expect(metricsSettings({})).toEqual({ path: 'metrics', access: 'admin', spendMaxAgeMs: 60_000 });
    expect(metricsSettings({ path: '/ops/kpis', access: 'public', spendMaxAgeSeconds: '5' })).toEqual({
      path: 'ops/kpis',
      access: 'public',
      spendMaxAgeMs: 5000,
    });
  });

  it('refuses an unknown access and a path that is not a URL path, with CONFIG_INVALID', () => {
    expect(() => metricsSettings({ access: 'open' })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
    expect(() => metricsSettings({ path: 'a b' })).toThrow(/not a URL path/);
    expect(() => metricsSettings({ path: '../x?y' })).toThrow(/not a URL path/);
    expect(() => metricsSettings({ path: 'ops/../x' })).toThrow(/not a URL path/);
  });
});
