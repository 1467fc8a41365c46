/**
 * The ERP's master data that purchase-order validation reads (suppliers, tax codes, cost centers, projects,
 * GL accounts), loaded page by page through the dialect and cached in memory with a refresh interval.
 *
 * A record created or unblocked in the ERP since the last load would be refused wrongly from a stale copy,
 * so a refusal based on a copy older than `recheckAfterMs` reloads it once and validates again; a burst of
 * refusals reloads at most once per that interval. A document replayed from the dead letters, after someone
 * fixed the master data it was refused for, asks for a younger copy (see sync.ts).
 */
import type { CallContext, ErpDialect, MasterRecord } from '../erp/dialect';
import { redactText } from '../erp/redact';
import { FinanceError, isFinanceError } from '../errors';
import type { CostCenter, GlAccount, MasterDataKind, Project, Supplier, TaxCode } from '../model/types';
import { RefreshingCache, type StaleValue } from './refreshing-cache';
import type { MasterDataLookup } from './validate';

export interface MasterDataSnapshot {
  suppliers: Supplier[];
  /** Undefined when the ERP does not publish tax codes (its listMasterData refuses them with CONFIG_INVALID). */
  taxCodes: TaxCode[] | undefined;
  costCenters: CostCenter[];
  /** Undefined when the ERP does not publish projects (SAP: WBS elements are checked at the write). */
  projects: Project[] | undefined;
  glAccounts: GlAccount[];
}

/** Where validation gets its master data from. */
export interface MasterDataSource {
  /** The lookup to validate with; it may be up to a refresh interval old. */
  lookup(): Promise<MasterDataLookup>;
  /**
   * A freshly loaded lookup when the one in use is at least `olderThanMs` old (default: the source's own
   * recheck interval), so worth reloading; else undefined.
   */
  recheck(olderThanMs?: number): Promise<MasterDataLookup | undefined>;
}

export interface ReadMasterDataOptions {
  /** Records per page (the sandbox allows up to 500). Default 500. */
  pageSize?: number;
  /** Stops a source whose cursors never end. Default 1,000 pages per kind. */
  maxPages?: number;
}

/**
 * A kind the ERP does not publish: its listMasterData refuses it with CONFIG_INVALID (Business Central's tax
 * codes; SAP's projects and tax codes, with details.notPublished). Validation of that kind is left to the ERP
 * when the purchase order is written: a documented decision per dialect, not a failure.
 */
function unpublished(error: unknown): undefined {
  if (isFinanceError(error) && error.code === 'CONFIG_INVALID') return undefined;
  throw error;
}

/** Reads every record of the five kinds validation needs. */
export async function readMasterData(
  dialect: Pick<ErpDialect, 'listMasterData'>,
  ctx: CallContext,
  options: ReadMasterDataOptions = {},
): Promise<MasterDataSnapshot> {
  const [suppliers, taxCodes, costCenters, projects, glAccounts] = await Promise.all([
    readKind(dialect, 'suppliers', ctx, options),
    readKind(dialect, 'taxCodes', ctx, options).catch(unpublished),
    readKind(dialect, 'costCenters', ctx, options),
    readKind(dialect, 'projects', ctx, options).catch(unpublished),
    readKind(dialect, 'glAccounts', ctx, options),
  ]);
  return {
    suppliers: suppliers as Supplier[],
    taxCodes: taxCodes as TaxCode[] | undefined,
    costCenters: costCenters as CostCenter[],
    projects: projects as Project[] | undefined,
    glAccounts: glAccounts as GlAccount[],
  };
}

/**
 * A lookup over a snapshot: one map per kind, built once. An id listed more than once (time-dependent master
 * data such as SAP's cost centers, one row per validity interval, from a reader that did not narrow them to
 * today's) stands for its row in force at `now`: the newest modifiedAt not after `now` (a planned row for
 * next year does not replace today's owner and open flag), else the earliest.
 */
export function lookupOf(snapshot: MasterDataSnapshot, now: number = Date.now()): MasterDataLookup {
  const inForce = <T extends { modifiedAt?: string }>(a: T, b: T): T => {
    const at = (record: { modifiedAt?: string }) => Date.parse(record.modifiedAt ?? '');
    const [x, y] = [at(a), at(b)];
    const [xDue, yDue] = [!(x > now), !(y > now)];
    if (xDue !== yDue) return xDue ? a : b;
    // Both in force: the newer one; both planned: the sooner one. A later row wins a tie (as before).
    return xDue ? (x > y ? a : b) : x < y ? a : b;
  };
  const byId = <T extends { id: string; modifiedAt?: string }>(records: T[]) => {
    const map = new Map<string, T>();
    for (const record of records) {
      const kept = map.get(record.id);
      map.set(record.id, kept === undefined ? record : inForce(kept, record));
    }
    return map;
  };
  const suppliers = byId(snapshot.suppliers);
  const taxCodes = snapshot.taxCodes === undefined ? undefined : byId(snapshot.taxCodes);
  const costCenters = byId(snapshot.costCenters);
  const projects = snapshot.projects === undefined ? undefined : byId(snapshot.projects);
  const glAccounts = byId(snapshot.glAccounts);
  return {
    supplier: (id) => suppliers.get(id),
    ...(taxCodes === undefined ? {} : { taxCode: (id: string) => taxCodes.get(id) }),
    costCenter: (id) => costCenters.get(id),
    ...(projects === undefined ? {} : { project: (id: string) => projects.get(id) }),
    glAccount: (id) => glAccounts.get(id),
  };
}

export interface MasterDataCacheOptions {
  /** Reads a fresh snapshot, e.g. `() => readMasterData(dialect, ctx)`. */
  read: () => Promise<MasterDataSnapshot>;
  refreshMs: number;
  /** After a failed background refresh, how long the old copy is served before the ERP is asked again. */
  retryMs: number;
  /** A refusal based on a copy at least this old reloads it once (see above). */
  recheckAfterMs: number;
  /**
   * A copy older than this is not validated against while the ERP fails (a supplier blocked since would pass);
   * the document waits with a retryable ERP_UNAVAILABLE instead. 0 or absent: no limit.
   */
  maxAgeMs?: number;
  clock?: () => number;
  onError?: (error: unknown) => void;
}

export class MasterDataCache implements MasterDataSource {
  readonly #cache: RefreshingCache<MasterDataLookup>;
  readonly #recheckAfterMs: number;

  constructor(options: MasterDataCacheOptions) {
    this.#recheckAfterMs = options.recheckAfterMs;
    this.#cache = new RefreshingCache({
      load: async () => lookupOf(await options.read(), (options.clock ?? Date.now)()),
      refreshMs: options.refreshMs,
      retryMs: options.retryMs,
      maxAgeMs: options.maxAgeMs,
      tooOld: copyTooOld,
      clock: options.clock,
      onError: options.onError,
    });
  }

  lookup(): Promise<MasterDataLookup> {
    return this.#cache.get();
  }

  async recheck(olderThanMs = this.#recheckAfterMs): Promise<MasterDataLookup | undefined> {
    const age = this.#cache.ageMs();
    if (age === undefined || age < olderThanMs) return undefined;
    return this.#cache.refresh();
  }
}

const HOUR_MS = 3_600_000;

function copyTooOld(stale: StaleValue): FinanceError {
  const loadedAt = new Date(stale.loadedAt).toISOString();
  const failingSince = new Date(stale.failingSince).toISOString();
  const maxAgeHours = stale.maxAgeMs / HOUR_MS;
  // The failure may quote what the ERP sent back; keep credentials out of the message and the dead letter.
  const lastError = redactText(
    stale.lastError instanceof Error ? stale.lastError.message : String(stale.lastError),
    [],
  );
  return new FinanceError(
    'ERP_UNAVAILABLE',
    `The master data copy for purchase-order validation is ${Math.floor(stale.ageMs / HOUR_MS)} hours old ` +
      `(read from the ERP at ${loadedAt}), more than the ${maxAgeHours} hours a last copy may be used, and the ERP ` +
      `could not be reached to refresh it since ${failingSince} (${lastError}). Validating against it could pass a ` +
      'supplier blocked since, so the purchase order waits: restore the ERP connection, or raise "Use a copy for ' +
      'at most" in the finance-purchase-order dialog (0: no limit). The message is tried again.',
    { retryable: true, details: { loadedAt, maxAgeHours, failingSince, lastError }, cause: stale.lastError },
  );
}

async function readKind(
  dialect: Pick<ErpDialect, 'listMasterData'>,
  kind: MasterDataKind,
  ctx: CallContext,
  options: ReadMasterDataOptions,
): Promise<MasterRecord[]> {
  const maxPages = options.maxPages ?? 1000;
  const seen = new Set<string>();
  const items: MasterRecord[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < maxPages; page += 1) {
    const result = await dialect.listMasterData(kind, { cursor, limit: options.pageSize ?? 500 }, ctx);
    // A record without an id cannot be looked up; leaving it out means a document naming it is refused.
    items.push(...result.items.filter((item) => typeof item.id === 'string' && item.id !== ''));
    if (result.nextCursor === null) return items;
    if (seen.has(result.nextCursor)) break;
    seen.add(result.nextCursor);
    cursor = result.nextCursor;
  }
  throw new FinanceError(
    'ERP_REJECTED',
    `The ERP kept returning more ${kind} pages (a repeated cursor or over ${maxPages} pages); check the master data endpoint of the ERP.`,
    { details: { kind } },
  );
}
