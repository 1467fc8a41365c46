/**
 * The edit dialogs accept what deploy accepts: each field's validator (run as Node-RED 4.1 runs it, see
 * editor-harness.ts) against the runtime's settings parser, value by value.
 */
import { approvalSettings, DEFAULT_DIRECTORY_MAX_AGE_HOURS } from '../../../lib/approval/settings';
import { erpConnectionConfig } from '../../../lib/config/erp-connection';
import { metricsSettings } from '../../../lib/config/observability-settings';
import { storeOptions } from '../../../lib/config/store-settings';
import { eventInSettings } from '../../../lib/intake/event-in-settings';
import { sourceSettings } from '../../../lib/intake/source-settings';
import { masterDataSettings } from '../../../lib/masterdata/settings';
import { DEFAULT_MASTER_DATA_MAX_AGE_HOURS, purchaseOrderSettings } from '../../../lib/purchasing/settings';
import { APPROVAL_STATES } from '../../../lib/model/types';
import { writebackSettings } from '../../../lib/writeback/settings';
import { dialogAccepts, editorOf, newNode, openDialog } from './editor-harness';

type Parser = (config: Record<string, any>) => unknown;

const parsers: Record<string, Parser> = {
  'finance-erp': (config) => erpConnectionConfig(config, {}),
  'finance-store': (config) => storeOptions(config, '/tmp/finance-sync-editor-test', {}),
  'finance-master-data': (config) => masterDataSettings(config),
  'finance-metrics': (config) => metricsSettings(config),
  'finance-event-in': (config) => eventInSettings(config, 'n1', 'host~dir'),
  'finance-source': (config) => sourceSettings(config, {}),
  'finance-writeback': (config) => writebackSettings(config),
  'finance-approval': (config) => approvalSettings(config),
  'finance-purchase-order': (config) => purchaseOrderSettings(config),
};

function runtimeAccepts(type: string, config: Record<string, unknown>): boolean {
  try {
    parsers[type](config);
    return true;
  } catch (error) {
    if ((error as { code?: string }).code !== 'CONFIG_INVALID') throw error;
    return false;
  }
}

/** The dialog's and the runtime's verdict on `value` in `field` of a new node with `extra` set. */
function verdicts(type: string, field: string, value: unknown, extra: Record<string, unknown> = {}) {
  const { definition } = editorOf(type);
  const config = { ...newNode(definition, type), ...extra, [field]: value };
  return { value, dialog: dialogAccepts(definition, field, config), runtime: runtimeAccepts(type, config) };
}

describe('a new node of each type passes its own dialog and deploy', () => {
  it.each(Object.keys(parsers))('%s', (type) => {
    const { definition } = editorOf(type);
    const config = newNode(definition, type);
    expect(runtimeAccepts(type, config)).toBe(true);
    for (const field of Object.keys(definition.defaults)) {
      if (definition.defaults[field].type) continue; // config node references: not set in a new node
      expect({ field, valid: dialogAccepts(definition, field, config) }).toEqual({ field, valid: true });
    }
  });
});

describe('whole-number fields accept exactly the runtime range (integerSetting)', () => {
  // [type, field, min, max, required, extra settings the field needs]
  const fields: Array<[string, string, number, number, boolean, Record<string, unknown>?]> = [
    ['finance-erp', 'timeoutMs', 100, 600000, true],
    ['finance-erp', 'maxConcurrency', 1, 100, true],
    ['finance-erp', 'rateLimitRequests', 0, 1000000, false],
    ['finance-erp', 'rateLimitWindowSeconds', 1, 3600, false],
    ['finance-store', 'maxInboxEntries', 10, 100000000, true],
    ['finance-store', 'dedupRetentionDays', 1, 3650, true],
    ['finance-store', 'pgPoolSize', 1, 100, false, { backend: 'postgres' }],
    ['finance-master-data', 'intervalMinutes', 0, 10080, false],
    ['finance-master-data', 'fullEveryHours', 1, 8760, false],
    ['finance-master-data', 'overlapSeconds', 0, 86400, false],
    ['finance-approval', 'directoryRefreshMinutes', 1, 1440, true],
    ['finance-approval', 'directoryMaxAgeHours', 0, 8760, true],
    ['finance-approval', 'slaCheckSeconds', 1, 3600, true],
    ['finance-purchase-order', 'masterDataRefreshMinutes', 1, 1440, true],
    ['finance-purchase-order', 'masterDataMaxAgeHours', 0, 8760, true],
  ];
  it.each(fields)('%s %s from %d to %d', (type, field, min, max, required, extra = {}) => {
    for (const value of [String(min - 1), String(min), String(max), String(max + 1), '1.5', 'abc', min, max + 1]) {
      const verdict = verdicts(type, field, value, extra);
      expect(verdict).toEqual({ ...verdict, dialog: verdict.runtime });
    }
    // Empty: the runtime takes its default. A required field still asks for a value in the dialog (its default
    // is only there for configs saved before the field existed); an optional one accepts the empty field.
    const empty = verdicts(type, field, '', extra);
    expect(empty).toEqual({ value: '', dialog: !required, runtime: true });
  });

  it("finance-approval: a new node's directory copy limit is the runtime's default", () => {
    expect(editorOf('finance-approval').definition.defaults.directoryMaxAgeHours.value).toBe(
      DEFAULT_DIRECTORY_MAX_AGE_HOURS,
    );
  });

  it("finance-purchase-order: a new node's master data copy limit is the runtime's default", () => {
    expect(editorOf('finance-purchase-order').definition.defaults.masterDataMaxAgeHours.value).toBe(
      DEFAULT_MASTER_DATA_MAX_AGE_HOURS,
    );
  });

  it('finance-store: the pool size is not checked for LMDB, which does not use it', () => {
    expect(verdicts('finance-store', 'pgPoolSize', '0', { backend: 'lmdb' })).toEqual({
      value: '0',
      dialog: true,
      runtime: true,
    });
  });
});

describe('text fields follow the runtime rules', () => {
  it('finance-metrics path', () => {
    const values = ['metrics', '/metrics', '//metrics', ' metrics ', 'metrics/v1', 'metrics/..', '..', '.', 'a/./b'];
    for (const value of [...values, 'a/.../b', 'a//b', 'a b', 'a?b', '', 'métriques']) {
      const verdict = verdicts('finance-metrics', 'path', value);
      expect(verdict).toEqual({ ...verdict, dialog: verdict.runtime });
    }
    expect(verdicts('finance-metrics', 'path', 'metrics/..').runtime).toBe(false);
  });

  it('finance-event-in MQTT topic filter', () => {
    const values = ['finance/#', 'finance/+/events', '#', '+', 'finance/#/events', 'fin#', 'a/b+', '$share/g', ''];
    for (const value of [...values, '$share/g/', '$share//finance/#', '$share/g+/t', '$share/g/finance/+/x', '  ']) {
      const verdict = verdicts('finance-event-in', 'topic', value, { mode: 'mqtt' });
      expect(verdict).toEqual({ ...verdict, dialog: verdict.runtime });
    }
    expect(verdicts('finance-event-in', 'topic', '$share/g', { mode: 'mqtt' }).runtime).toBe(false);
    expect(verdicts('finance-event-in', 'topic', 'finance/#/events', { mode: 'mqtt' }).runtime).toBe(false);
  });

  it.each(['concur', 'coupa'])('finance-source custom approval statuses, profile %s', (profile) => {
    const values = ['', '{"pending_buyer_action": "pending_approval"}', '{"pending_buyer_action": ', '[1]', '3'];
    for (const value of [
      ...values,
      '{"x": "waiting"}',
      '{"x": ""}',
      '{"x": 1}',
      '{"a": "approved", "r": "rejected"}',
    ]) {
      const verdict = verdicts('finance-source', 'approvalStatusMap', value, { profile, signatureScheme: 'none' });
      expect(verdict).toEqual({ ...verdict, dialog: verdict.runtime });
    }
    expect(verdicts('finance-source', 'approvalStatusMap', '{"x": "waiting"}', { profile }).runtime).toBe(false);
  });

  it("finance-source knows the runtime's approval states", () => {
    const { context } = editorOf('finance-source');
    expect([...(context.FINANCE_SOURCE_APPROVAL_STATES as string[])]).toEqual([...APPROVAL_STATES]);
  });

  it('finance-source GL account by expense type (Concur)', () => {
    for (const value of ['', '{"AIRFR": "6100"}', '{"AIRFR": ""}', '{"AIRFR": 6100}', '{"AIRFR": ', '[]']) {
      const verdict = verdicts('finance-source', 'glAccountByExpenseType', value, { profile: 'concur' });
      expect(verdict).toEqual({ ...verdict, dialog: verdict.runtime });
    }
    expect(verdicts('finance-source', 'glAccountByExpenseType', '{"AIRFR": 6100}', { profile: 'concur' }).runtime).toBe(
      false,
    );
  });

  it('finance-erp and finance-source base URLs: no user info, query or fragment', () => {
    const values = ['http://127.0.0.1:8089', 'https://erp.example/api/', 'https://u:p@erp.example', 'ftp://x'];
    for (const value of [...values, 'https://erp.example/api?api_key=K', 'https://erp.example/api#x']) {
      const erp = verdicts('finance-erp', 'baseUrl', value);
      expect(erp).toEqual({ ...erp, dialog: erp.runtime });
      const source = verdicts('finance-source', 'apiBaseUrl', value, { profile: 'coupa', signatureScheme: 'none' });
      expect(source).toEqual({ ...source, dialog: source.runtime });
    }
    expect(verdicts('finance-erp', 'baseUrl', 'https://erp.example/api?api_key=K').runtime).toBe(false);
  });

  it('finance-erp Business Central budget name: at most 10 characters, spaces around it ignored', () => {
    const bc = { dialect: 'business-central', company: 'FS-DEMO', bcTenant: 't1', bcEnvironment: 'Production' };
    for (const value of ['', '2026', ' 2026 ', 'FS-BUDGET', 'ABCDEFGHIJ', ' ABCDEFGHIJ ', 'ABCDEFGHIJK']) {
      const verdict = verdicts('finance-erp', 'bcBudgetName', value, bc);
      expect(verdict).toEqual({ ...verdict, dialog: verdict.runtime });
    }
    expect(verdicts('finance-erp', 'bcBudgetName', 'ABCDEFGHIJK', bc).runtime).toBe(false);
  });

  it('finance-writeback webhook path', () => {
    const values = ['api/v1/writebacks', '/api/v1/writebacks', '../etc', 'a/../b', 'a/..', '..', '.', 'a/.../b'];
    for (const value of [...values, 'a/./b', 'https://other.example/x', 'mailto:x']) {
      const verdict = verdicts('finance-writeback', 'path', value, { target: 'webhook' });
      expect(verdict).toEqual({ ...verdict, dialog: verdict.runtime });
    }
    expect(verdicts('finance-writeback', 'path', '../etc', { target: 'webhook' }).runtime).toBe(false);
  });

  it('finance-writeback ERP number field for Coupa', () => {
    for (const value of ['', 'erp-po-number', 'erp_po_number', 'X1', '1abc', 'a b', '-x']) {
      const verdict = verdicts('finance-writeback', 'numberField', value, { target: 'coupa' });
      expect(verdict).toEqual({ ...verdict, dialog: verdict.runtime });
    }
    // Deliberately stricter than the runtime: a Concur field id under the Coupa target is the Concur default
    // left behind, not a Coupa field name.
    for (const value of ['custom15', 'orgUnit1']) {
      expect(verdicts('finance-writeback', 'numberField', value, { target: 'coupa' })).toEqual({
        value,
        dialog: false,
        runtime: true,
      });
    }
  });
});

describe('finance-writeback dialog: switching the target', () => {
  function writebackDialog(saved: Record<string, unknown> = {}) {
    const { definition } = editorOf('finance-writeback');
    const node = { ...newNode(definition, 'finance-writeback'), ...saved };
    return { definition, dialog: openDialog('finance-writeback', node) };
  }

  it('a new node switched to Coupa writes to erp-po-number, and back to Concur to custom15', () => {
    const { definition, dialog } = writebackDialog();
    dialog.set('target', 'coupa');
    const coupa = dialog.done();
    expect(coupa).toMatchObject({ target: 'coupa', numberField: 'erp-po-number' });
    expect(writebackSettings(coupa)).toMatchObject({ target: 'coupa', numberField: 'erp-po-number' });
    expect(dialogAccepts(definition, 'numberField', coupa)).toBe(true);

    dialog.set('target', 'concur');
    expect(dialog.done()).toMatchObject({ target: 'concur', numberField: 'custom15' });
  });

  it('also through another target, and a field the analyst named stays', () => {
    const { dialog } = writebackDialog({ target: 'concur' });
    dialog.set('target', 'webhook');
    dialog.set('target', 'coupa');
    expect(dialog.value('numberField')).toBe('erp-po-number');
    dialog.set('numberField', 'po-number');
    dialog.set('target', 'concur');
    expect(dialog.value('numberField')).toBe('po-number');
  });

  it('opening a dialog changes nothing', () => {
    const { dialog } = writebackDialog({ target: 'coupa', numberField: 'custom15' });
    expect(dialog.done()).toMatchObject({ target: 'coupa', numberField: 'custom15' });
  });
});
