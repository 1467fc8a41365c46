/**
 * The edit dialogs accept what deploy accepts: each field's validator (run as Node-RED 4.1 runs it, see
 * editor-harness.ts) against the runtime's settings parser, value by value.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { approvalSettings, DEFAULT_DIRECTORY_MAX_AGE_HOURS } from '../../../lib/approval/settings';
import { budgetSettings } from '../../../lib/budget/settings';
import { erpConnectionConfig } from '../../../lib/config/erp-connection';
import { auditSettings, metricsSettings } from '../../../lib/config/observability-settings';
import { retryPolicyFromDialog } from '../../../lib/config/retry-settings';
import { integerSetting } from '../../../lib/config/settings';
import { storeOptions } from '../../../lib/config/store-settings';
import { eventInSettings } from '../../../lib/intake/event-in-settings';
import { sourceSettings } from '../../../lib/intake/source-settings';
import { masterDataCacheOption } from '../../../lib/masterdata/cached-lister';
import { masterDataSettings } from '../../../lib/masterdata/settings';
import { mapSettings } from '../../../lib/mapping/settings';
import { postSettings } from '../../../lib/posting/settings';
import { DEFAULT_MASTER_DATA_MAX_AGE_HOURS, purchaseOrderSettings } from '../../../lib/purchasing/settings';
import { APPROVAL_STATES } from '../../../lib/model/types';
import { deadLetterSettings } from '../../../lib/reliability/dead-letter-settings';
import { writebackSettings } from '../../../lib/writeback/settings';
import { dialogAccepts, editorOf, newNode, openDialog, root, type NodeDefinition } from './editor-harness';

type Parser = (config: Record<string, any>) => unknown;

// The credential fields are not the dialog's to validate: every one is filled, so only the settings are judged.
const credentials = {
  username: 'u',
  password: 'p',
  token: 't',
  apiKey: 'k',
  apiSecret: 's',
  clientId: 'c',
  clientSecret: 's',
};

const parsers: Record<string, Parser> = {
  // The node reads its retry fields apart, and uses the embedded sandbox's address when it is ticked
  // (nodes/finance-erp/finance-erp.ts).
  'finance-erp': (config) => [
    erpConnectionConfig(config, credentials, config.embeddedSandbox ? 'http://127.0.0.1:18089' : undefined),
    retryPolicyFromDialog(config),
  ],
  'finance-store': (config) => storeOptions(config, '/tmp/finance-sync-editor-test', {}),
  'finance-master-data': (config) => masterDataSettings(config),
  'finance-metrics': (config) => metricsSettings(config),
  'finance-audit': (config) => auditSettings(config, '/tmp/finance-sync-editor-test'),
  'finance-event-in': (config) => eventInSettings(config, 'n1', 'host~dir'),
  'finance-source': (config) => sourceSettings(config, credentials),
  'finance-writeback': (config) => [writebackSettings(config), retryPolicyFromDialog(config)],
  // As nodes/finance-retry/finance-retry.ts reads its dialog.
  'finance-retry': (config) => [
    retryPolicyFromDialog(config),
    integerSetting(config.checkpointHours, 'Remember messages for (hours)', { min: 1, max: 720, fallback: 24 }),
  ],
  // The master data cache is read by the node itself (nodes/finance-approval, nodes/finance-purchase-order).
  'finance-approval': (config) => [approvalSettings(config), masterDataCacheOption(config.masterDataCache)],
  'finance-purchase-order': (config) => {
    const settings = purchaseOrderSettings(config);
    return [settings, settings.validateMasterData ? masterDataCacheOption(config.masterDataCache) : undefined];
  },
  'finance-map': (config) => mapSettings(config),
  'finance-budget-check': (config) => budgetSettings(config),
  'finance-post': (config) => postSettings(config),
  'finance-dead-letter': (config) => deadLetterSettings(config),
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

describe('whole-number fields accept exactly what the runtime accepts (integerSetting)', () => {
  // [type, field, min, max, asks: the dialog asks for a value when the field is empty, extra settings the field
  // needs]. Empty is the runtime's default; a field that asks shows that default instead of an empty box.
  const fields: Array<[string, string, number, number, boolean, Record<string, unknown>?]> = [
    ['finance-erp', 'timeoutMs', 100, 600000, true],
    ['finance-erp', 'maxConcurrency', 1, 100, true],
    ['finance-erp', 'rateLimitRequests', 0, 1000000, false],
    ['finance-erp', 'rateLimitWindowSeconds', 1, 3600, false],
    ['finance-erp', 'retryMaximumAttempts', 1, 1000, true],
    ['finance-erp', 'retryMaximumThrottledWaits', 0, 1000, true],
    ['finance-erp', 'circuitFailureRate', 1, 100, true],
    ['finance-erp', 'circuitMinimumCalls', 1, 100000, true],
    ['finance-erp', 'circuitWindowSeconds', 1, 3600, true],
    ['finance-erp', 'circuitOpenSeconds', 1, 3600, true],
    ['finance-store', 'maxInboxEntries', 10, 100000000, true],
    ['finance-store', 'dedupRetentionDays', 1, 3650, true],
    ['finance-store', 'pgPort', 1, 65535, false, { backend: 'postgres' }],
    ['finance-store', 'pgPoolSize', 1, 100, false, { backend: 'postgres' }],
    ['finance-master-data', 'intervalMinutes', 0, 10080, false],
    ['finance-master-data', 'fullEveryHours', 1, 8760, false],
    ['finance-master-data', 'pageSize', 1, 1000, true],
    ['finance-master-data', 'overlapSeconds', 0, 86400, false],
    ['finance-metrics', 'spendMaxAgeSeconds', 1, 86400, true],
    ['finance-audit', 'maxFileMb', 1, 10000, true],
    ['finance-event-in', 'maxBytes', 1, 104857600, true],
    ['finance-event-in', 'leaseSeconds', 1, 86400, true],
    ['finance-event-in', 'recoverySeconds', 1, 3600, true],
    ['finance-event-in', 'listenPort', 1, 65535, false, { mode: 'http' }],
    ['finance-event-in', 'pollSeconds', 1, 86400, true, { mode: 'poll' }],
    ['finance-event-in', 'pollPageSize', 1, 50, true, { mode: 'poll' }],
    ['finance-source', 'toleranceSeconds', 1, 86400, true],
    ['finance-source', 'apiTimeoutMs', 100, 600000, false, { apiBaseUrl: 'https://api.example' }],
    ['finance-source', 'apiMaxConcurrency', 1, 100, false, { apiBaseUrl: 'https://api.example' }],
    ['finance-writeback', 'retryMaximumAttempts', 1, 1000, true],
    ['finance-writeback', 'retryMaximumThrottledWaits', 0, 1000, true],
    ['finance-retry', 'retryMaximumAttempts', 1, 1000, true],
    ['finance-retry', 'retryMaximumThrottledWaits', 0, 1000, true],
    ['finance-retry', 'checkpointHours', 1, 720, true],
    ['finance-approval', 'directoryRefreshMinutes', 1, 1440, true],
    ['finance-approval', 'directoryMaxAgeHours', 0, 8760, true],
    ['finance-approval', 'slaCheckSeconds', 1, 3600, true],
    ['finance-purchase-order', 'masterDataRefreshMinutes', 1, 1440, true],
    ['finance-purchase-order', 'masterDataMaxAgeHours', 0, 8760, true],
  ];
  it.each(fields)('%s %s from %d to %d', (type, field, min, max, asks, extra = {}) => {
    const ranges = [min - 1, min, max, max + 1].flatMap((n) => [n, String(n)]);
    // As typed or pasted: spaces around the number, a decimal point with nothing after it, or no number.
    const typed = [` ${min} `, `${max} `, `${min}.0`, `${max}.00`, `${min}.5`, '1.5', 'abc', '12abc', '-'];
    for (const value of [...ranges, ...typed]) {
      const verdict = verdicts(type, field, value, extra);
      expect(verdict).toEqual({ ...verdict, dialog: verdict.runtime });
    }
    expect(verdicts(type, field, ` ${min} `, extra).runtime).toBe(true);
    // Empty, or only spaces: the runtime takes its default; the dialog asks for a value, or accepts it.
    for (const value of ['', '   ']) {
      expect(verdicts(type, field, value, extra)).toEqual({ value, dialog: !asks, runtime: true });
    }
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

describe('finance-erp and finance-source connection fields, as the runtime reads them', () => {
  const sap = {
    dialect: 'sap',
    company: '1010',
    sapPurchasingOrganization: '1010',
    sapPurchasingGroup: '001',
    sapPlant: '1010',
    sapMaterialGroup: 'L001',
  };
  const bc = { dialect: 'business-central', company: 'FS-DEMO', bcTenant: 't1', bcEnvironment: 'Production' };
  const erpnext = { dialect: 'erpnext', company: 'FS-DEMO' };

  it('spaces around a value do not count, as the runtime trims them', () => {
    const cases: Array<[string, string, Record<string, unknown>]> = [
      ['baseUrl', ' https://erp.example/api ', {}],
      ['tokenUrl', ' https://login.example/token ', { authType: 'oauth2' }],
      ['company', ' 1010 ', sap],
      ['sapClient', ' 100 ', sap],
      ['sapPlant', ' 1010 ', sap],
      ['sapChartOfAccounts', ' YCOA ', sap],
      ['bcTenant', ' contoso.onmicrosoft.com ', bc],
      ['bcReferenceApi', ' finsync/finance/v1.0 ', bc],
      ['erpnextReferenceField', ' custom_external_ref ', erpnext],
      ['erpnextReferenceField', '   ', erpnext],
    ];
    for (const [field, value, extra] of cases) {
      expect({ field, ...verdicts('finance-erp', field, value, extra) }).toEqual({
        field,
        value,
        dialog: true,
        runtime: true,
      });
    }
    for (const [field, value, extra] of [
      ['apiBaseUrl', ' https://api.example ', {}],
      ['tokenUrl', ' https://login.example/token ', { apiBaseUrl: 'https://api.example', apiAuthType: 'oauth2' }],
    ] as const) {
      expect({ field, ...verdicts('finance-source', field, value, extra) }).toEqual({
        field,
        value,
        dialog: true,
        runtime: true,
      });
    }
  });

  it('an API key header is asked for with API key authentication, which deploy refuses without one', () => {
    for (const value of ['', '  ']) {
      expect(verdicts('finance-erp', 'apiKeyHeader', value, { authType: 'apiKey' })).toEqual({
        value,
        dialog: false,
        runtime: false,
      });
      expect(verdicts('finance-erp', 'apiKeyHeader', value, { authType: 'bearer' })).toEqual({
        value,
        dialog: true,
        runtime: true,
      });
    }
  });

  // A password in a plain field would sit in the flow file, readable by every editor user and exported with it.
  it('a token URL with a user name or password is refused: they go in the credential fields', () => {
    const value = 'https://client:secret@login.example/token';
    expect(verdicts('finance-erp', 'tokenUrl', value, { authType: 'oauth2' })).toEqual({
      value,
      dialog: false,
      runtime: false,
    });
    expect(
      verdicts('finance-source', 'tokenUrl', value, { apiBaseUrl: 'https://api.example', apiAuthType: 'oauth2' }),
    ).toEqual({ value, dialog: false, runtime: false });
  });

  it('a base URL with an @ in its path is an address like any other', () => {
    const value = 'https://erp.example/api/@v1';
    expect(verdicts('finance-erp', 'baseUrl', value)).toEqual({ value, dialog: true, runtime: true });
  });

  it('the circuit breaker fields are not checked with the breaker off, as the runtime does not read them', () => {
    for (const field of ['circuitFailureRate', 'circuitMinimumCalls', 'circuitWindowSeconds', 'circuitOpenSeconds']) {
      expect({ field, ...verdicts('finance-erp', field, '0', { circuitBreaker: false }) }).toEqual({
        field,
        value: '0',
        dialog: true,
        runtime: true,
      });
    }
  });

  it('finance-store schema and table prefix: spaces around them ignored, not checked for LMDB', () => {
    const postgres = { backend: 'postgres' };
    expect(verdicts('finance-store', 'pgSchema', ' finance_sync ', postgres)).toEqual({
      value: ' finance_sync ',
      dialog: true,
      runtime: true,
    });
    expect(verdicts('finance-store', 'pgTablePrefix', ' fs_ ', postgres)).toEqual({
      value: ' fs_ ',
      dialog: true,
      runtime: true,
    });
    expect(verdicts('finance-store', 'pgTablePrefix', 'Not-An-Identifier', postgres)).toEqual({
      value: 'Not-An-Identifier',
      dialog: false,
      runtime: false,
    });
    expect(verdicts('finance-store', 'pgTablePrefix', 'Not-An-Identifier', { backend: 'lmdb' })).toEqual({
      value: 'Not-An-Identifier',
      dialog: true,
      runtime: true,
    });
  });
});

describe('MQTT brokers, topics and paths, as the runtime reads them', () => {
  // A password in a plain field would sit in the flow file, readable by every editor user and exported with it.
  it('a broker address with a user name or password is refused by dialog and deploy', () => {
    const value = 'mqtt://finance:secret@broker.example:1883';
    expect(verdicts('finance-master-data', 'brokerUrl', value, { publish: true })).toEqual({
      value,
      dialog: false,
      runtime: false,
    });
    expect(verdicts('finance-writeback', 'brokerUrl', value, { target: 'mqtt' })).toEqual({
      value,
      dialog: false,
      runtime: false,
    });
    expect(verdicts('finance-event-in', 'broker', value, { mode: 'mqtt', topic: 'finance/#' })).toEqual({
      value,
      dialog: false,
      runtime: false,
    });
  });

  it('values with spaces around them or a wrong shape: the dialog and deploy agree', () => {
    const cases: Array<[string, string, string, Record<string, unknown>]> = [
      ['finance-master-data', 'brokerUrl', ' mqtt://broker.example:1883 ', { publish: true }],
      ['finance-master-data', 'brokerUrl', 'http://broker.example', { publish: true }],
      ['finance-master-data', 'topicPrefix', ' finance/masterdata/ ', { publish: true }],
      ['finance-master-data', 'topicPrefix', ' $SYS', { publish: true }],
      ['finance-master-data', 'topicPrefix', '/', { publish: true }],
      ['finance-master-data', 'topicPrefix', '   ', { publish: true }],
      ['finance-writeback', 'brokerUrl', ' mqtt://broker.example:1883 ', { target: 'mqtt' }],
      ['finance-writeback', 'topic', ' $SYS/{documentId}', { target: 'mqtt' }],
      ['finance-writeback', 'topic', 'finance/{documentId}/{amount}', { target: 'mqtt' }],
      ['finance-writeback', 'topic', '   ', { target: 'mqtt' }],
      ['finance-writeback', 'path', '/', { target: 'webhook' }],
      ['finance-writeback', 'path', ' api/v1/writebacks ', { target: 'webhook' }],
      ['finance-writeback', 'path', '', { target: 'webhook' }],
      ['finance-event-in', 'path', ' /finance/events ', { mode: 'http' }],
      ['finance-event-in', 'broker', ' mqtt://broker.example:1883 ', { mode: 'mqtt', topic: 'finance/#' }],
      ['finance-event-in', 'publishTopic', ' finance/expense/submitted ', { mode: 'http', publish: true }],
    ];
    for (const [type, field, value, extra] of cases) {
      const verdict = verdicts(type, field, value, extra);
      expect({ type, field, ...verdict }).toEqual({ type, field, ...verdict, dialog: verdict.runtime });
    }
    expect(verdicts('finance-writeback', 'topic', 'finance/{documentId}/{amount}', { target: 'mqtt' }).runtime).toBe(
      false,
    );
    expect(verdicts('finance-master-data', 'topicPrefix', ' $SYS', { publish: true }).runtime).toBe(false);
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

/**
 * Which fields deploy reads depends on the dialog's choices (a mode, a target, a ticked box, an optional address):
 * a field it does not read in the chosen combination must not stop the analyst, whether its row is hidden (a red
 * field they cannot see) or shown. For each combination of every two choices, each field is given values of all
 * kinds; when none of them changes what the runtime makes of the dialog, deploy ignores the field there, and the
 * dialog must accept every one of them: closed (as the editor validates a node on the canvas) and open (the
 * input holding the value, `this` the node as saved).
 */
describe('a field deploy ignores in a combination of choices passes in the dialog', () => {
  // Values that make every choice deployable on its own, so its combinations are judged (a choice that asks for
  // a field refuses the whole dialog without it, and nothing can be learnt from that).
  const complete: Record<string, Record<string, unknown>> = {
    'finance-erp': {
      company: '1010',
      bcTenant: 't1',
      sapPurchasingOrganization: '1010',
      sapPurchasingGroup: '001',
      sapPlant: '1010',
      sapMaterialGroup: 'L001',
      tokenUrl: 'https://login.example/token',
      proxyUrl: 'http://proxy.example:3128',
    },
    'finance-event-in': { topic: 'finance/#' },
    'finance-source': { tokenUrl: 'https://login.example/token', proxyUrl: 'http://proxy.example:3128' },
    'finance-map': { expression: 'payload' },
  };
  // Fields deploy ignores in some combination, which this test must find so.
  const seenIgnored: Record<string, string[]> = {
    'finance-master-data': ['sourcePath', 'brokerUrl', 'topicPrefix'],
    'finance-event-in': ['listenHost', 'path', 'listenPort', 'broker', 'topic', 'publishTopic', 'pollSeconds'],
    'finance-source': ['apiTimeoutMs', 'apiMaxConcurrency', 'proxyUrl', 'tokenUrl', 'approvalStatusMap'],
    'finance-erp': ['baseUrl', 'circuitFailureRate', 'bcTenant', 'sapPlant', 'apiKeyHeader', 'proxyUrl'],
    'finance-store': ['pgPort', 'pgSchema', 'pgTablePrefix', 'pgPoolSize'],
    'finance-writeback': ['path', 'numberField', 'brokerUrl', 'topic'],
    'finance-map': ['expression', 'profileOptions'],
    'finance-purchase-order': ['masterDataRefreshMinutes', 'masterDataMaxAgeHours', 'masterDataCache'],
    'finance-budget-check': ['reserveHoldHours'],
  };
  // Text fields whose being empty or not is a choice: it decides whether other fields are read.
  const switches: Record<string, Record<string, unknown[]>> = {
    'finance-event-in': { listenPort: ['', '8081'] },
    'finance-source': { apiBaseUrl: ['', 'https://api.example'] },
  };
  // Of every kind a field may hold: empty, blank, words, numbers in and out of ranges, paths, topics, URLs.
  const values = [
    '',
    '   ',
    'x',
    'not a valid value',
    '0',
    '-1',
    '7',
    '1.5',
    '99999999',
    '/',
    '/x/{kind}',
    '..',
    '{{',
    '$x',
    'a/#/b',
    'mqtt://u:p@broker.example',
    'https://example.com/a?b=1',
  ];

  function templateOf(type: string): string {
    const html = fs.readFileSync(path.join(root, 'nodes', type, `${type}.html`), 'utf8');
    return new RegExp(`<script type="text/html" data-template-name="${type}">([\\s\\S]*?)</script>`).exec(html)![1];
  }

  /** The dialog's choices: each select's options and each checkbox, read from its template. */
  function choicesOf(type: string, definition: NodeDefinition): Record<string, unknown[]> {
    const template = templateOf(type);
    const choices: Record<string, unknown[]> = { ...switches[type] };
    for (const [, attributes, options] of template.matchAll(/<select([^>]*)>([\s\S]*?)<\/select>/g)) {
      const field = /\bid="node-(?:config-)?input-([^"]+)"/.exec(attributes)?.[1];
      if (field && field in definition.defaults) {
        choices[field] = [...options.matchAll(/<option[^>]*\bvalue="([^"]*)"/g)].map((option) => option[1]);
      }
    }
    for (const [, attributes] of template.matchAll(/<input([^>]*type="checkbox"[^>]*)>/g)) {
      const field = /\bid="node-(?:config-)?input-([^"]+)"/.exec(attributes)?.[1];
      if (field && field in definition.defaults) choices[field] = [true, false];
    }
    return choices;
  }

  /** The base config with every single choice and every pair of choices set, each once. */
  function combinations(base: Record<string, unknown>, choices: Record<string, unknown[]>) {
    const fields = Object.keys(choices);
    const found = new Map<string, Record<string, unknown>>();
    const add = (set: Record<string, unknown>) => {
      const config = { ...base, ...set };
      found.set(JSON.stringify(fields.map((field) => config[field])), config);
    };
    add({});
    fields.forEach((a, i) => {
      for (const va of choices[a]) {
        add({ [a]: va });
        for (const b of fields.slice(i + 1)) for (const vb of choices[b]) add({ [a]: va, [b]: vb });
      }
    });
    return [...found.values()];
  }

  /** What deploy makes of a config: its settings, or the field it refuses. */
  function deployed(type: string, config: Record<string, unknown>): string {
    try {
      // Amounts are bigint (money is never a float).
      return JSON.stringify(parsers[type](config), (_key, value) =>
        typeof value === 'bigint' ? `${value}n` : (value as unknown),
      );
    } catch (error) {
      if ((error as { code?: string }).code !== 'CONFIG_INVALID') throw error;
      return `refused: ${(error as Error).message}`;
    }
  }

  it.each(Object.keys(parsers))('%s', (type) => {
    const { definition } = editorOf(type);
    const base: Record<string, unknown> = { ...newNode(definition, type), ...complete[type] };
    // Config nodes chosen, so only the fields are judged.
    for (const [field, property] of Object.entries(definition.defaults)) if (property.type) base[field] = 'config-1';
    const choices = choicesOf(type, definition);
    const judged = Object.keys(definition.defaults).filter((field) => {
      const property = definition.defaults[field];
      const chosen = field in choices && !(field in (switches[type] ?? {}));
      return (property.validate || property.required) && !property.type && !chosen;
    });
    const refused: string[] = [];
    const ignored = new Set<string>();
    for (const config of combinations(base, choices)) {
      const settings = deployed(type, config);
      if (settings.startsWith('refused')) continue;
      const dialog = openDialog(type, config);
      const combination = Object.keys(choices)
        .map((field) => `${field}=${JSON.stringify(config[field])}`)
        .join(' ');
      for (const field of judged) {
        const tried = [config[field], ...values];
        if (!tried.every((value) => deployed(type, { ...config, [field]: value }) === settings)) continue;
        ignored.add(field);
        for (const value of tried) {
          const closed = dialogAccepts(definition, field, { ...config, [field]: value });
          const open = dialog.accepts(field, value);
          if (!closed || !open) {
            refused.push(
              `${field}=${JSON.stringify(value)} (${closed ? '' : 'closed '}${open ? '' : 'open '}) with ${combination}`,
            );
            break;
          }
        }
      }
    }
    expect(refused).toEqual([]);
    // The test does see the fields deploy ignores (these cases once stopped a dialog whose shown fields were right).
    expect([...ignored]).toEqual(expect.arrayContaining(seenIgnored[type] ?? []));
  });
});

describe('fields deploy reads only for some choices', () => {
  it("finance-master-data: the source's path is checked only when a kind is read from the source", () => {
    for (const value of ['', 'masterdata', '/masterdata']) {
      expect(verdicts('finance-master-data', 'sourcePath', value)).toEqual({ value, dialog: true, runtime: true });
      for (const owner of ['source', 'erp-or-source']) {
        expect(verdicts('finance-master-data', 'sourcePath', value, { suppliersFrom: owner })).toEqual({
          value,
          dialog: false,
          runtime: false,
        });
      }
    }
    const spaced = ' /masterdata/{kind} ';
    expect(verdicts('finance-master-data', 'sourcePath', spaced, { suppliersFrom: 'source' })).toEqual({
      value: spaced,
      dialog: true,
      runtime: true,
    });
  });

  it('finance-event-in: the listen address is checked only with a port of its own', () => {
    const value = 'not a host';
    expect(verdicts('finance-event-in', 'listenHost', value, { mode: 'http', listenPort: '' })).toEqual({
      value,
      dialog: true,
      runtime: true,
    });
    expect(verdicts('finance-event-in', 'listenHost', value, { mode: 'http', listenPort: 8081 })).toEqual({
      value,
      dialog: false,
      runtime: false,
    });
  });

  it("finance-source: the API's timeout, width and proxy are checked only with an API base URL", () => {
    const cases: Array<[string, string, Record<string, unknown>]> = [
      ['apiTimeoutMs', '50', {}],
      ['apiMaxConcurrency', '0', {}],
      ['proxyUrl', 'http://user:secret@proxy.example:3128', { proxyMode: 'url' }],
    ];
    for (const [field, value, extra] of cases) {
      expect({ field, ...verdicts('finance-source', field, value, extra) }).toEqual({
        field,
        value,
        dialog: true,
        runtime: true,
      });
      const withApi = { ...extra, apiBaseUrl: 'https://api.example' };
      expect({ field, ...verdicts('finance-source', field, value, withApi) }).toEqual({
        field,
        value,
        dialog: false,
        runtime: false,
      });
    }
  });
});

describe('an open dialog judges a field by the choices it shows now, not those saved before the edit', () => {
  function eventIn(saved: Record<string, unknown>) {
    const { definition } = editorOf('finance-event-in');
    return { ...newNode(definition, 'finance-event-in'), ...saved };
  }

  it('finance-event-in: "Own port" emptied or filled in the dialog', () => {
    const dialog = openDialog('finance-event-in', eventIn({ listenPort: '8081', listenHost: 'not a host' }));
    expect(dialog.accepts('listenHost', 'not a host')).toBe(false);
    dialog.set('listenPort', '');
    expect(dialog.accepts('listenHost', 'not a host')).toBe(true);
    dialog.set('listenPort', '8082');
    expect(dialog.accepts('listenHost', 'not a host')).toBe(false);
  });

  it('finance-event-in: the mode changed in the dialog', () => {
    const dialog = openDialog('finance-event-in', eventIn({ mode: 'input', path: 'not a path!' }));
    expect(dialog.accepts('path', 'not a path!')).toBe(true);
    dialog.set('mode', 'http');
    expect(dialog.accepts('path', 'not a path!')).toBe(false);
  });

  it('finance-master-data: a kind set to be read from the source in the dialog', () => {
    const { definition } = editorOf('finance-master-data');
    const saved = { ...newNode(definition, 'finance-master-data'), sourcePath: '' };
    const dialog = openDialog('finance-master-data', saved);
    expect(dialog.accepts('sourcePath', '')).toBe(true);
    dialog.set('projectsFrom', 'erp-or-source');
    expect(dialog.accepts('sourcePath', '')).toBe(false);
  });

  it('finance-source: the API base URL emptied in the dialog', () => {
    const { definition } = editorOf('finance-source');
    const saved = { ...newNode(definition, 'finance-source'), apiBaseUrl: 'https://api.example', apiTimeoutMs: '50' };
    const dialog = openDialog('finance-source', saved);
    expect(dialog.accepts('apiTimeoutMs', '50')).toBe(false);
    dialog.set('apiBaseUrl', '');
    expect(dialog.accepts('apiTimeoutMs', '50')).toBe(true);
  });

  // Saving a config node validates every node that uses it while the dialog beneath is open, maybe another node's.
  it("another node is judged by its own fields, not by the open dialog's inputs", () => {
    const dialog = openDialog('finance-event-in', eventIn({ listenPort: '8081' }));
    const other = eventIn({ id: 'n2', listenPort: '', listenHost: 'not a host' });
    expect(dialogAccepts(dialog.definition, 'listenHost', other)).toBe(true);
  });
});
