/**
 * The shapes the sandbox ERP keeps and answers with (lib/sandbox/API.md). Master records and lines reuse the
 * canonical model, so what a dialect reads from the sandbox is what the rest of the pack already knows.
 */
import type {
  CostCenter,
  Dimensions,
  Employee,
  GlAccount,
  MasterDataKind,
  Money,
  Project,
  PurchaseOrderLine,
  Supplier,
  TaxCode,
} from '../model/types';

export const MASTER_DATA_KINDS: readonly MasterDataKind[] = [
  'employees',
  'suppliers',
  'costCenters',
  'projects',
  'glAccounts',
  'taxCodes',
];

export interface MasterRecords {
  employees: Employee[];
  suppliers: Supplier[];
  costCenters: CostCenter[];
  projects: Project[];
  glAccounts: GlAccount[];
  taxCodes: TaxCode[];
}

export type MasterRecord = MasterRecords[MasterDataKind][number];

export interface Company {
  id: string;
  name: string;
  /** The currency the company books and budgets in; documents must be in it. */
  currency: string;
}

/** The dimensions a budget is kept on; a budget line names some of them and leaves the others out. */
export interface BudgetDimensions {
  costCenter?: string;
  project?: string;
  glAccount?: string;
}

export interface BudgetLine extends BudgetDimensions {
  id: string;
  period: string; // YYYY-MM
  amount: Money;
}

export interface SeedCompany {
  company: Company;
  master: MasterRecords;
  budgets: BudgetLine[];
}

export interface PurchaseOrderDoc {
  id: string;
  number: string;
  company: string;
  externalReference: string;
  supplierId: string;
  orderDate: string;
  currency: string;
  lines: PurchaseOrderLine[];
  status: 'open' | 'cancelled';
  etag: string;
  total: Money;
  createdAt: string;
  modifiedAt: string;
}

export interface PostingLine {
  lineId: string;
  amount: Money;
  dimensions: Dimensions;
  description?: string;
  /** A tax code of the company's master data: the line amount is gross, the tax is in it. */
  taxCode?: string;
}

export interface PostingDoc {
  id: string;
  number: string;
  company: string;
  kind: 'journal' | 'payable';
  externalReference: string;
  employeeId?: string;
  supplierId?: string;
  postingDate: string;
  currency: string;
  lines: PostingLine[];
  status: 'posted';
  total: Money;
  postedAt: string;
}

export interface Writeback {
  id: string;
  system: string;
  documentId: string;
  status: string;
  erpRef?: unknown;
  correlationId?: string;
  receivedAt: string;
}

export interface Counters {
  /** Requests to /api/ routes, whatever their outcome. */
  requests: number;
  /** Successful changes of state (creates, updates, cancels, postings, write-backs, master-data changes). */
  writes: number;
  /** Writes answered from the Idempotency-Key store instead of being applied again. */
  duplicateWritesPrevented: number;
  /** Injected errors, timeouts and connection resets (latency alone is not counted). */
  faultsInjected: number;
  /** Requests refused with 429 by the rate limit. */
  rateLimited: number;
}

/** What a route handler answers; the server serialises it. */
export interface SandboxResponse {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}
