/**
 * The employee directory routing reads (manager, approval limit, active; cost center owners), loaded from
 * the ERP's master data, held in memory and kept in the durable store.
 *
 * Routing must not wait on the ERP for every report, and must keep working when the ERP is down: a snapshot
 * older than the refresh interval is still served while a fresh one loads in the background, and after a
 * restart with the ERP unreachable the last snapshot kept in the store is used. Only when there has never
 * been a snapshot does a caller wait for (and see the failure of) the load.
 *
 * But only for so long: a snapshot older than `maxAgeMs` (from its loadedAt) is not served, since after weeks
 * without the ERP it routes to managers who left or lost their approval limit, and nobody would notice. Beyond
 * that age a caller waits for the load as if there were no snapshot, and when the ERP still does not answer it
 * gets a retryable ERP_UNAVAILABLE that says how old the copy is and what to do.
 */
import type { ErpDialect, CallContext, MasterDataPage, MasterRecord } from '../erp/dialect';
import { redactText } from '../erp/redact';
import { FinanceError, isFinanceError } from '../errors';
import type { CostCenter, Employee, MasterDataKind } from '../model/types';
import type { ApprovalDirectory, DirectoryEmployee } from './directory';
import { personKey } from './person-id';

export interface DirectorySnapshot {
  /** When the snapshot was read from its source (ISO 8601). */
  loadedAt: string;
  employees: DirectoryEmployee[];
  costCenters: Array<{ id: string; ownerId?: string }>;
}

export interface ReadDirectoryOptions {
  /** Records per page (the sandbox allows up to 500). Default 500. */
  pageSize?: number;
  /** Stops a source whose cursors never end. Default 1,000 pages per kind. */
  maxPages?: number;
  now?: () => Date;
}

/** Reads every employee and cost center from the ERP, page by page. */
export async function readDirectory(
  dialect: Pick<ErpDialect, 'listMasterData'>,
  ctx: CallContext,
  options: ReadDirectoryOptions = {},
): Promise<DirectorySnapshot> {
  const now = options.now ?? (() => new Date());
  const employees = (await readAll(dialect, 'employees', ctx, options)).flatMap(toDirectoryEmployee);
  const costCenters = (await readAll(dialect, 'costCenters', ctx, options)).flatMap(toCostCenterOwner);
  return { loadedAt: now().toISOString(), employees, costCenters };
}

/**
 * An ApprovalDirectory over a snapshot; lookups are map reads. Employees are found by personKey, so "e100" from
 * a source finds E100: routing compares person ids that way (person-id.ts), and must find the same person.
 */
export function directoryOf(snapshot: DirectorySnapshot): ApprovalDirectory {
  const employees = new Map(snapshot.employees.map((employee) => [personKey(employee.id), employee]));
  const owners = new Map(
    snapshot.costCenters.flatMap((center) => (center.ownerId ? [[center.id, center.ownerId] as const] : [])),
  );
  return {
    employee: (id) => employees.get(personKey(id)),
    costCenterOwner: (code) => owners.get(code),
  };
}

/** Where the last good snapshot is kept between restarts. */
export interface SnapshotKeeper {
  save(snapshot: DirectorySnapshot): Promise<void>;
  restore(): Promise<DirectorySnapshot | undefined>;
}

export interface DirectoryCacheOptions {
  /** Reads a fresh snapshot from the owner of the master data. */
  load: () => Promise<DirectorySnapshot>;
  keeper: SnapshotKeeper;
  /** A snapshot older than this is refreshed (in the background while it is still served). */
  refreshMs: number;
  /** After a failed load, how long to keep serving the old snapshot before asking the source again. */
  retryMs: number;
  /** A snapshot older than this (from its loadedAt) is not served while the source fails; 0: no limit. */
  maxAgeMs: number;
  /** Epoch milliseconds. */
  clock?: () => number;
  /** A background refresh or a save failed; the cache goes on with what it has. */
  onError?: (error: unknown) => void;
}

export class DirectoryCache {
  private current?: { snapshot: DirectorySnapshot; directory: ApprovalDirectory };
  /** When the source may be asked again: after refreshMs on success, after retryMs on failure. */
  private nextLoadAt = 0;
  /** Since when (epoch ms) the loads have failed, and the last failure; none after a successful load. */
  private failing?: { since: number; error: unknown };
  private loading?: Promise<ApprovalDirectory>;
  private readonly clock: () => number;

  constructor(private readonly options: DirectoryCacheOptions) {
    this.clock = options.clock ?? Date.now;
  }

  /**
   * The directory to route with. Waits only when there is no snapshot young enough to use: then the source is
   * read, and if that fails the kept snapshot is used; with neither, the load's error is thrown, or the
   * snapshot's age when it is too old.
   */
  async directory(): Promise<ApprovalDirectory> {
    if (this.current === undefined) return this.refresh();
    const due = this.clock() >= this.nextLoadAt;
    if (this.tooOld(this.current.snapshot)) {
      // The source was asked less than retryMs ago and failed: refuse now instead of asking it for every report.
      if (this.failing !== undefined && !due) throw this.tooOldError(this.current.snapshot);
      return this.refresh();
    }
    if (due) {
      this.refresh().catch((error: unknown) => this.options.onError?.(error));
    }
    return this.current.directory;
  }

  /** The snapshot in use, if any (for status and diagnosis). */
  snapshot(): DirectorySnapshot | undefined {
    return this.current?.snapshot;
  }

  /** Loads from the source now (one load at a time); falls back to the kept snapshot when there is none. */
  refresh(): Promise<ApprovalDirectory> {
    this.loading ??= this.load().finally(() => {
      this.loading = undefined;
    });
    return this.loading;
  }

  private async load(): Promise<ApprovalDirectory> {
    let snapshot: DirectorySnapshot;
    try {
      snapshot = await this.options.load();
    } catch (error) {
      this.nextLoadAt = this.clock() + this.options.retryMs;
      this.failing = { since: this.failing?.since ?? this.clock(), error };
      if (this.current !== undefined) {
        throw this.tooOld(this.current.snapshot) ? this.tooOldError(this.current.snapshot) : error;
      }
      const kept = await this.options.keeper.restore();
      if (kept === undefined) {
        // Nothing to route with: the next caller tries the source again instead of waiting for retryMs.
        this.nextLoadAt = 0;
        throw error;
      }
      // Kept even when too old: snapshot() shows it, and the next callers are refused until retryMs has passed.
      const directory = this.use(kept);
      if (this.tooOld(kept)) throw this.tooOldError(kept);
      this.options.onError?.(error);
      return directory;
    }
    this.failing = undefined;
    const directory = this.use(snapshot);
    this.nextLoadAt = this.clock() + this.options.refreshMs;
    try {
      await this.options.keeper.save(snapshot);
    } catch (error) {
      this.options.onError?.(error);
    }
    return directory;
  }

  private use(snapshot: DirectorySnapshot): ApprovalDirectory {
    this.current = { snapshot, directory: directoryOf(snapshot) };
    return this.current.directory;
  }

  /** Over the age limit; a loadedAt that is not a date counts as too old, its age being unknown. */
  private tooOld(snapshot: DirectorySnapshot): boolean {
    if (this.options.maxAgeMs === 0) return false;
    return !(this.clock() - Date.parse(snapshot.loadedAt) <= this.options.maxAgeMs);
  }

  private tooOldError(snapshot: DirectorySnapshot): FinanceError {
    const ageHours = Math.floor((this.clock() - Date.parse(snapshot.loadedAt)) / HOUR_MS);
    const maxAgeHours = this.options.maxAgeMs / HOUR_MS;
    const failingSince = new Date(this.failing?.since ?? this.clock()).toISOString();
    // The failure may quote what the ERP sent back; keep credentials out of the message and the dead letter.
    const lastError = redactText(messageOf(this.failing?.error), []);
    return new FinanceError(
      'ERP_UNAVAILABLE',
      `The employee directory's last copy is ${Number.isNaN(ageHours) ? 'of unknown age' : `${ageHours} hours old`} ` +
        `(read from the ERP at ${snapshot.loadedAt}), more than the ${maxAgeHours} hours a last copy may be used, ` +
        `and the ERP could not be reached to refresh it since ${failingSince} (${lastError}). Routing on it could ` +
        'pick managers who left or lost their approval limit, so the report waits: restore the ERP connection, or ' +
        'raise "Use a directory copy for at most" in the finance-approval dialog (0: no limit). The report is ' +
        'tried again.',
      {
        retryable: true,
        details: { loadedAt: snapshot.loadedAt, maxAgeHours, failingSince, lastError },
        cause: this.failing?.error,
      },
    );
  }
}

const HOUR_MS = 3_600_000;

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * An ERP that does not publish a kind (SAP S/4HANA: employees; details.notPublished) leaves the directory to
 * another owner, read into the master data cache by finance-master-data (e.g. employees from the source). Until
 * that cache is complete the read falls through to the ERP and meets this refusal: it is passing, not a
 * configuration error, so the report waits (retried with the connection's policy) instead of being dead-lettered.
 */
function notYetAvailable(error: unknown, kind: MasterDataKind): unknown {
  if (!isFinanceError(error) || error.code !== 'CONFIG_INVALID' || error.details?.notPublished !== true) return error;
  return new FinanceError(
    'ERP_UNAVAILABLE',
    `The ${kind} for approval routing are not available yet: the ERP does not publish them (${error.message}) and the master data cache has no complete copy yet. Let finance-master-data read them from their owner (e.g. Employees from the source) into the cache the approval node uses; the report is tried again.`,
    { retryable: true, details: { kind, notPublished: true }, cause: error },
  );
}

async function readAll(
  dialect: Pick<ErpDialect, 'listMasterData'>,
  kind: MasterDataKind,
  ctx: CallContext,
  options: ReadDirectoryOptions,
): Promise<MasterRecord[]> {
  const maxPages = options.maxPages ?? 1000;
  const seen = new Set<string>();
  const items: MasterRecord[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < maxPages; page += 1) {
    const result: MasterDataPage = await dialect
      .listMasterData(kind, { cursor, limit: options.pageSize ?? 500 }, ctx)
      .catch((error: unknown) => Promise.reject(notYetAvailable(error, kind)));
    items.push(...result.items);
    if (result.nextCursor === null) return items;
    if (seen.has(result.nextCursor)) break;
    seen.add(result.nextCursor);
    cursor = result.nextCursor;
  }
  throw new FinanceError(
    'ERP_REJECTED',
    `The ERP kept returning more ${kind} pages (a repeated cursor or over ${maxPages} pages); ` +
      'check the master data endpoint of the ERP.',
    { details: { kind } },
  );
}

/** Keeps what routing needs; a record without an id cannot be routed to and is left out. */
function toDirectoryEmployee(record: MasterRecord): DirectoryEmployee[] {
  const employee = record as Partial<Employee>;
  if (typeof employee.id !== 'string' || employee.id === '') return [];
  return [
    {
      id: employee.id,
      ...(typeof employee.managerId === 'string' && employee.managerId !== '' && { managerId: employee.managerId }),
      ...(employee.approvalLimit !== undefined && { approvalLimit: employee.approvalLimit }),
      // Someone whose status the ERP does not state is not assumed to be away.
      active: employee.active !== false,
    },
  ];
}

function toCostCenterOwner(record: MasterRecord): Array<{ id: string; ownerId?: string }> {
  const center = record as Partial<CostCenter>;
  if (typeof center.id !== 'string' || center.id === '') return [];
  return [
    { id: center.id, ...(typeof center.ownerId === 'string' && center.ownerId !== '' && { ownerId: center.ownerId }) },
  ];
}
