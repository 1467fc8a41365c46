/**
 * The finance-master-data dialog, read once at deploy: a wrong value is reported by name instead of failing on
 * the first sync. A message never overrides these; it may only ask for a sync (see request.ts).
 */
import { integerSetting } from '../config/settings';
import { FinanceError } from '../errors';
import { MASTER_DATA_KINDS, type MasterDataKind } from './kinds';
import { checkBrokerUrl } from '../writeback/mqtt-target';
import { checkTopicPrefix } from './publish';
import { checkSourcePath } from './source-lister';

/** 'erp-or-source': the ERP when its dialect publishes the kind, else the source (fallback-lister.ts). */
export type Owner = 'erp' | 'source' | 'erp-or-source' | 'none';

export interface MasterDataDialogSettings {
  mode?: unknown;
  cache?: unknown;
  employeesFrom?: unknown;
  suppliersFrom?: unknown;
  costCentersFrom?: unknown;
  projectsFrom?: unknown;
  glAccountsFrom?: unknown;
  taxCodesFrom?: unknown;
  sourcePath?: unknown;
  intervalMinutes?: unknown;
  fullEveryHours?: unknown;
  syncOnStart?: unknown;
  pageSize?: unknown;
  overlapSeconds?: unknown;
  publish?: unknown;
  brokerUrl?: unknown;
  topicPrefix?: unknown;
}

export interface MasterDataSettings {
  mode: 'sync' | 'enrich';
  cache: string;
  /** The owner of each kind; kinds owned by 'none' are not synced. */
  owners: Array<{ kind: MasterDataKind; owner: Exclude<Owner, 'none'> }>;
  sourcePath: string;
  /** 0: no schedule, syncs only on demand. */
  intervalMs: number;
  fullAfterMs: number;
  /**
   * How long a synced copy counts as fresh: four intervals, at least an hour, so a failed sync or two, or a
   * standby host taking over the lease (two intervals and a minute), do not make it out of date. Undefined
   * without a schedule.
   */
  freshForMs?: number;
  syncOnStart: boolean;
  pageSize: number;
  overlapMs: number;
  publish?: { brokerUrl: string; topicPrefix: string };
}

export const DEFAULT_CACHE = 'default';
const FRESH_INTERVALS = 4;
const MIN_FRESH_MS = 3_600_000;
const CACHE_NAME = /^[A-Za-z0-9._-]{1,64}$/;

export function checkCacheName(value: unknown, field = 'Cache'): string {
  const name = typeof value === 'string' && value.trim() !== '' ? value.trim() : DEFAULT_CACHE;
  if (!CACHE_NAME.test(name)) {
    throw new FinanceError(
      'CONFIG_INVALID',
      `${field} "${name}" must be 1 to 64 letters, digits, dots, dashes or underscores, e.g. default.`,
      { details: { field } },
    );
  }
  return name;
}

export function masterDataSettings(dialog: MasterDataDialogSettings): MasterDataSettings {
  const mode = dialog.mode === 'enrich' ? 'enrich' : 'sync';
  if (dialog.mode !== undefined && dialog.mode !== '' && dialog.mode !== 'sync' && dialog.mode !== 'enrich') {
    throw new FinanceError('CONFIG_INVALID', `Mode must be sync or enrich, not "${String(dialog.mode)}".`, {
      details: { field: 'mode' },
    });
  }
  const owners = MASTER_DATA_KINDS.flatMap((kind) => {
    const owner = ownerOf((dialog as Record<string, unknown>)[`${kind}From`], kind);
    return owner === 'none' ? [] : [{ kind, owner }];
  });
  if (mode === 'sync' && owners.length === 0) {
    throw new FinanceError(
      'CONFIG_INVALID',
      'No kind of master data is set to be synced: choose the ERP or the source for at least one kind.',
      { details: { field: 'employeesFrom' } },
    );
  }
  const publish =
    dialog.publish === true || dialog.publish === 'true'
      ? {
          topicPrefix: checkTopicPrefix(typeof dialog.topicPrefix === 'string' ? dialog.topicPrefix : ''),
          // Checked here, with the other settings: a broker address with a password is refused at deploy.
          brokerUrl: checkBrokerUrl(typeof dialog.brokerUrl === 'string' ? dialog.brokerUrl.trim() : ''),
        }
      : undefined;
  const intervalMs =
    integerSetting(dialog.intervalMinutes, 'Sync every (minutes)', { min: 0, max: 10_080, fallback: 15 }) * 60_000;
  return {
    mode,
    cache: checkCacheName(dialog.cache),
    owners,
    sourcePath: owners.some((entry) => entry.owner !== 'erp')
      ? checkSourcePath(typeof dialog.sourcePath === 'string' ? dialog.sourcePath : '')
      : '',
    intervalMs,
    ...(intervalMs > 0 && { freshForMs: Math.max(FRESH_INTERVALS * intervalMs, MIN_FRESH_MS) }),
    fullAfterMs:
      integerSetting(dialog.fullEveryHours, 'Full sync every (hours)', { min: 1, max: 8_760, fallback: 24 }) *
      3_600_000,
    syncOnStart: dialog.syncOnStart !== false && dialog.syncOnStart !== 'false',
    pageSize: integerSetting(dialog.pageSize, 'Page size', { min: 1, max: 1000, fallback: 200 }),
    overlapMs:
      integerSetting(dialog.overlapSeconds, 'Delta overlap (seconds)', { min: 0, max: 86_400, fallback: 60 }) * 1000,
    ...(publish && { publish }),
  };
}

function ownerOf(value: unknown, kind: MasterDataKind): Owner {
  if (value === undefined || value === '') return 'erp';
  if (value === 'erp' || value === 'source' || value === 'erp-or-source' || value === 'none') return value;
  throw new FinanceError(
    'CONFIG_INVALID',
    `The owner of ${kind} must be erp, source, erp-or-source or none, not "${String(value)}".`,
    {
      details: { field: `${kind}From` },
    },
  );
}
