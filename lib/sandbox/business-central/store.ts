/**
 * The Business Central simulator's data, kept as BC's API v2.0 JSON (camelCase entities with GUID ids,
 * `@odata.etag`, decimals as JSON numbers). One BcCompany per sandbox company, seeded from the sandbox's demo
 * master data and budgets, so the same demo (budgets that run out, blocked suppliers) plays against BC:
 * - suppliers -> vendors (blocked "All" when blocked), employees -> employees, GL accounts -> accounts,
 *   tax codes -> taxGroups, projects -> projects;
 * - cost centers and projects -> values of the dimensions DEPARTMENT and PROJECT (the global dimensions 1
 *   and 2 of a standard BC company, CRONUS) [D: shortcutDimension1Code/2Code are the global dimensions];
 * - budget lines -> Analytics API G/L budget entries on the first day of their month, with their dimensions in
 *   a dimension set (a line without a G/L account, a project's budget, becomes one entry per expense account) [D dynamics_generalledgerbudgetentry; [U] the dimensionSetEntries entity of the Analytics
 *   API is assumed to carry dimensionSetID, dimensionCode, dimensionValueCode].
 * The store is kept beside the SandboxState (like the Coupa store) and reset with it.
 */
import { createHash } from 'node:crypto';
import { allocate } from '../../model/money';
import type { SandboxState } from '../state';
import type { CompanyState } from '../company-state';

export type Entity = Record<string, unknown> & { id: string };

export const DEPARTMENT = 'DEPARTMENT';
export const PROJECT = 'PROJECT';
export const EXPENSE_JOURNAL = 'EXPENSES';
/** The balancing account of the seeded batch EXPENSES (employee payables). */
export const JOURNAL_BALANCE_ACCOUNT = '2910';

/** A stable GUID from a name, so ids survive a reset and tests can predict them. */
export function guidOf(...parts: string[]): string {
  const hex = createHash('sha1').update(parts.join('\u0000')).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

export interface DimensionSetEntry {
  dimensionSetID: number;
  dimensionCode: string;
  dimensionValueCode: string;
}

export interface PurchaseOrderRecord {
  header: Entity;
  lines: Entity[];
  /** Per line: its dimension set lines (code, valueCode...). */
  lineDimensions: Map<string, Entity[]>;
  /** The custom API page's field (Purchase Header "Your Reference", Text[35]); null when not set. */
  yourReference: string | null;
}

export class BcCompany {
  readonly id: string;
  readonly name: string;
  readonly currency: string;
  readonly master = new Map<string, Entity[]>();
  readonly budgetEntries: Entity[] = [];
  readonly dimensionSetEntries: DimensionSetEntry[] = [];
  readonly purchaseOrders = new Map<string, PurchaseOrderRecord>();
  /** The id of the seeded batch EXPENSES. */
  readonly journalId: string;
  /** General journal batches by id: EXPENSES, and those created through the API (`POST journals`). */
  readonly journals = new Map<string, Entity>();
  /** The lines of every batch; each names its batch in journalId. */
  readonly journalLines: Entity[] = [];
  readonly journalLineDimensions = new Map<string, Entity[]>();
  readonly generalLedgerEntries: Entity[] = [];
  readonly generalLedgerEntryDimensions = new Map<string, Entity[]>();
  readonly purchaseInvoices = new Map<string, { header: Entity; lines: Entity[] }>();
  /** BC's Allow Posting From / To (inclusive, YYYY-MM-DD); unset: any date. Set by BcStore.setAllowedPostingDates. */
  allowedPostingDates: { from?: string; to?: string } = {};
  private readonly dimensionSets = new Map<string, number>();
  private series = { PO: 1000, GL: 0, PI: 1000 };

  constructor(company: CompanyState, now: string) {
    this.id = guidOf('company', company.company.id);
    this.name = company.company.id;
    this.currency = company.company.currency;
    this.journalId = guidOf('journal', company.company.id, EXPENSE_JOURNAL);
    this.journals.set(this.journalId, {
      id: this.journalId,
      code: EXPENSE_JOURNAL,
      displayName: 'Expense reports',
      templateDisplayName: 'GENERAL',
      balancingAccountId: guidOf('account', this.name, JOURNAL_BALANCE_ACCOUNT),
      balancingAccountNumber: JOURNAL_BALANCE_ACCOUNT,
      lastModifiedDateTime: now,
      '@odata.etag': 'W/"JzA7Jw=="',
    });
    const records = <T>(kind: Parameters<CompanyState['records']>[0]) => [...company.records(kind).values()] as T[];
    const stamp = (modifiedAt: unknown) => (typeof modifiedAt === 'string' ? modifiedAt : now);
    type Row = { id: string; name: string; modifiedAt: string } & Record<string, unknown>;
    this.master.set(
      'vendors',
      records<Row>('suppliers').map((s) => ({
        id: guidOf('vendor', this.name, s.id),
        number: s.id,
        displayName: s.name,
        country: s.country,
        currencyCode: s.currency === this.currency ? '' : (s.currency ?? ''),
        blocked: s.status === 'blocked' ? 'All' : '_x0020_',
        lastModifiedDateTime: stamp(s.modifiedAt),
      })),
    );
    this.master.set(
      'employees',
      records<Row>('employees').map((e) => {
        const [givenName, ...rest] = e.name.split(' ');
        return {
          id: guidOf('employee', this.name, e.id),
          number: e.id,
          displayName: e.name,
          givenName,
          surname: rest.join(' '),
          email: e.email ?? '',
          status: e.active ? 'Active' : 'Inactive',
          lastModifiedDateTime: stamp(e.modifiedAt),
        };
      }),
    );
    this.master.set(
      'accounts',
      records<Row>('glAccounts').map((a) => ({
        id: guidOf('account', this.name, a.id),
        number: a.id,
        displayName: a.name,
        category: ACCOUNT_CATEGORY[String(a.type)] ?? '_x0020_',
        blocked: !a.open,
        accountType: 'Posting',
        directPosting: true,
        lastModifiedDateTime: stamp(a.modifiedAt),
      })),
    );
    this.master.set(
      'taxGroups',
      records<Row>('taxCodes').map((t) => ({
        id: guidOf('taxGroup', this.name, t.id),
        code: t.id,
        displayName: t.name,
        taxType: 'Sales_x0020_Tax',
        lastModifiedDateTime: stamp(t.modifiedAt),
      })),
    );
    this.master.set(
      'projects',
      records<Row>('projects').map((p) => ({
        id: guidOf('project', this.name, p.id),
        number: p.id,
        displayName: p.name,
        lastModifiedDateTime: stamp(p.modifiedAt),
      })),
    );
    const dimensions = [DEPARTMENT, PROJECT].map((code) => ({
      id: guidOf('dimension', this.name, code),
      code,
      displayName: code === DEPARTMENT ? 'Department' : 'Project',
      lastModifiedDateTime: now,
    }));
    this.master.set('dimensions', dimensions);
    const values = (code: string, rows: Row[]) =>
      rows.map((row) => ({
        id: guidOf('dimensionValue', this.name, code, row.id),
        code: row.id,
        dimensionId: guidOf('dimension', this.name, code),
        displayName: row.name.slice(0, 50),
        lastModifiedDateTime: stamp(row.modifiedAt),
      }));
    this.master.set('dimensionValues', [
      ...values(DEPARTMENT, records<Row>('costCenters')),
      ...values(PROJECT, records<Row>('projects')),
    ]);
    // A G/L budget entry is always on a G/L account. A sandbox budget line without one (a project's budget over
    // all its accounts) becomes one entry per expense account, its amount split evenly to the minor unit.
    const expenseAccounts = records<Row>('glAccounts')
      .filter((a) => a.type === 'expense')
      .map((a) => a.id);
    let entryNo = 0;
    for (const line of company.budgets) {
      const accounts = line.glAccount ? [line.glAccount] : expenseAccounts;
      const amounts = allocate(
        line.amount,
        accounts.map(() => 1n),
      );
      accounts.forEach((glAccountNo, index) => {
        entryNo += 1;
        this.budgetEntries.push({
          id: guidOf('budget', this.name, line.id, ...(line.glAccount ? [] : [glAccountNo])),
          entryNo,
          budgetName: 'FS-BUDGET',
          glAccountNo,
          budgetDate: `${line.period}-01`,
          budgetAmount: Number(amounts[index].amount),
          dimensionSetID: this.dimensionSetOf({ [DEPARTMENT]: line.costCenter, [PROJECT]: line.project }),
        });
      });
    }
  }

  /** The id of the dimension set holding exactly these values (0 = no dimensions), made on first use. */
  dimensionSetOf(values: Record<string, string | undefined>): number {
    const entries = Object.entries(values)
      .filter((entry): entry is [string, string] => entry[1] !== undefined && entry[1] !== '')
      .sort(([a], [b]) => a.localeCompare(b));
    if (entries.length === 0) return 0;
    const key = JSON.stringify(entries);
    let id = this.dimensionSets.get(key);
    if (id === undefined) {
      id = this.dimensionSets.size + 1;
      this.dimensionSets.set(key, id);
      for (const [dimensionCode, dimensionValueCode] of entries) {
        this.dimensionSetEntries.push({ dimensionSetID: id, dimensionCode, dimensionValueCode });
      }
    }
    return id;
  }

  nextNumber(series: 'PO' | 'GL' | 'PI'): string {
    this.series[series] += 1;
    return series === 'PO' ? `106${this.series.PO}` : series === 'PI' ? `108${this.series.PI}` : String(this.series.GL);
  }
}

const ACCOUNT_CATEGORY: Record<string, string> = {
  expense: 'Expense',
  asset: 'Assets',
  liability: 'Liabilities',
  revenue: 'Income',
  equity: 'Equity',
};

export class BcStore {
  readonly companies = new Map<string, BcCompany>();
  etagSequence = 0;
  counters = { requests: 0 };

  constructor(private readonly state: SandboxState) {
    this.reset();
  }

  reset(): void {
    this.companies.clear();
    const now = this.state.timestamp();
    for (const company of this.state.companies.values()) {
      const bc = new BcCompany(company, now);
      this.companies.set(bc.id, bc);
    }
    this.counters = { requests: 0 };
  }

  /** BC's weak ETags look like W/"JzQ0O...Jzs=" (base64 of the row version); the simulator's are shaped alike. */
  nextEtag(): string {
    this.etagSequence += 1;
    return `W/"${Buffer.from(`'${this.etagSequence};'`).toString('base64')}"`;
  }

  /**
   * Test hook: a purchase order's API status as approval or release sets it in BC (`Open` is BC's Released,
   * `In_x0020_Review` its Pending Approval); `Draft` is BC's Open, as a reopen leaves it. Changes its ETag.
   */
  setPurchaseOrderStatus(documentId: string, status: 'Draft' | 'In_x0020_Review' | 'Open'): void {
    const record = this.#purchaseOrder(documentId);
    record.header.status = status;
    record.header['@odata.etag'] = this.nextEtag();
  }

  /**
   * Test hook: what BC posted against a purchase order line (Post Receive / Post Invoice), as cumulative
   * quantities. A posted receipt releases the order (API status Open) [3P]; the line's and the order's ETags
   * change.
   */
  postAgainstLine(
    documentId: string,
    lineId: string,
    posted: { receivedQuantity?: number; invoicedQuantity?: number },
  ): void {
    const record = this.#purchaseOrder(documentId);
    const line = record.lines.find((each) => each.id === lineId.toLowerCase());
    if (!line) throw new Error(`The simulator's purchase order ${documentId} has no line ${lineId}.`);
    Object.assign(line, posted, { '@odata.etag': this.nextEtag() });
    record.header.status = 'Open';
    record.header['@odata.etag'] = this.nextEtag();
  }

  /**
   * Test hook: the allowed posting dates of General Ledger Setup, for every company (or the one named), as a
   * closed period or a "this month only" setup leaves them; `{}` allows any date again. Posting a journal or a
   * purchase invoice dated outside them is refused, as BC does at posting.
   */
  setAllowedPostingDates(range: { from?: string; to?: string }, companyName?: string): void {
    for (const company of this.companies.values()) {
      if (companyName === undefined || company.name === companyName) company.allowedPostingDates = { ...range };
    }
  }

  #purchaseOrder(documentId: string): PurchaseOrderRecord {
    for (const company of this.companies.values()) {
      const record = company.purchaseOrders.get(documentId.toLowerCase());
      if (record) return record;
    }
    throw new Error(`The simulator has no purchase order ${documentId}.`);
  }

  snapshot(): Record<string, unknown> {
    return {
      companies: [...this.companies.values()].map((company) => ({
        id: company.id,
        name: company.name,
        purchaseOrders: [...company.purchaseOrders.values()].map((po) => ({
          ...po.header,
          yourReference: po.yourReference,
          // With each line's dimensions, so a test can read the cost center a line is booked to.
          purchaseOrderLines: po.lines.map((line) => ({
            ...line,
            dimensionSetLines: po.lineDimensions.get(line.id) ?? [],
          })),
        })),
        journalLines: company.journalLines,
        generalLedgerEntries: company.generalLedgerEntries,
        purchaseInvoices: [...company.purchaseInvoices.values()].map((invoice) => ({
          ...invoice.header,
          purchaseInvoiceLines: invoice.lines,
        })),
      })),
      counters: this.counters,
    };
  }
}

const stores = new WeakMap<SandboxState, BcStore>();

export function bcStoreOf(state: SandboxState): BcStore {
  let store = stores.get(state);
  if (!store) {
    store = new BcStore(state);
    stores.set(state, store);
  }
  return store;
}
