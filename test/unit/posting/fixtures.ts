/** Shared set-up for the posting tests: real LMDB stores in a temp folder, a clock the test moves, a fake ERP. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { CallContext, PostingRef, PostingRequest } from '../../../lib/erp/dialect';
import { FinanceError } from '../../../lib/errors';
import type { ExpenseReport } from '../../../lib/model/types';
import { openStore, type FinanceStore } from '../../../lib/reliability/store';

export interface ManualClock {
  now: () => number;
  advance(ms: number): void;
}

export function manualClock(start = 1_700_000_000_000): ManualClock {
  let time = start;
  return {
    now: () => time,
    advance: (ms) => {
      time += ms;
    },
  };
}

/** Stores in one temp folder; cleanup() closes them and removes the folder. */
export function storeFolder(name: string) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), `finance-posting-${name}-`));
  const opened: FinanceStore[] = [];
  let counter = 0;
  return {
    open(now: () => number): FinanceStore {
      const store = openStore({ path: path.join(root, `db-${++counter}`), now });
      opened.push(store);
      return store;
    },
    async cleanup(): Promise<void> {
      await Promise.all(opened.map((store) => store.close()));
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}

/** How the fake ERP answers the next post. */
export type Behaviour =
  | 'success'
  | 'refuse'
  | 'timeout-after-write'
  | 'timeout-before-write'
  | 'unauthorized'
  | 'unavailable'
  | 'rate-limited'
  | 'conflict'
  | 'connection-refused'
  | { hold: Promise<void> };

/**
 * A fake ERP dialect for postings: documents by external reference, scripted failures, and a record of every
 * call with the context it came with.
 */
export class FakeErp {
  readonly documents = new Map<string, PostingRef>();
  readonly calls: Array<{ op: 'post' | 'find'; externalReference: string; ctx: CallContext }> = [];
  readonly #script: Behaviour[] = [];
  readonly #findFailures: FinanceError[] = [];
  #next = 0;

  then(...behaviours: Behaviour[]): this {
    this.#script.push(...behaviours);
    return this;
  }

  /** The next lookups fail with these errors, one each. */
  failFinds(...errors: FinanceError[]): this {
    this.#findFailures.push(...errors);
    return this;
  }

  count(op: 'post' | 'find'): number {
    return this.calls.filter((call) => call.op === op).length;
  }

  async post(posting: PostingRequest, ctx: CallContext): Promise<PostingRef> {
    this.calls.push({ op: 'post', externalReference: posting.externalReference, ctx });
    const behaviour = this.#script.shift() ?? 'success';
    if (typeof behaviour === 'object') await behaviour.hold;
    switch (behaviour) {
      case 'refuse':
        throw new FinanceError('ERP_REJECTED', 'ERP "fake" answered 422: employee unknown.', {
          httpStatus: 422,
          details: { erpBody: { code: 'EMPLOYEE_UNKNOWN' } },
        });
      case 'unauthorized':
        throw new FinanceError('ERP_AUTH_FAILED', 'ERP "fake" answered 401.', { httpStatus: 401 });
      case 'unavailable':
        throw new FinanceError('ERP_UNAVAILABLE', 'ERP "fake" answered 503.', { httpStatus: 503, retryable: true });
      case 'rate-limited':
        throw new FinanceError('ERP_RATE_LIMITED', 'ERP "fake" answered 429.', { httpStatus: 429, retryable: true });
      case 'conflict':
        throw new FinanceError('ERP_CONFLICT', 'ERP "fake" answered 409: a request with this key is running.', {
          httpStatus: 409,
        });
      case 'timeout-before-write':
        throw timeout();
      case 'connection-refused':
        throw new FinanceError('ERP_UNAVAILABLE', 'Could not reach ERP "fake" (ECONNREFUSED).', {
          retryable: true,
          details: { transportCode: 'ECONNREFUSED' },
        });
      default:
    }
    const ref = this.#store(posting);
    if (behaviour === 'timeout-after-write') throw timeout();
    return ref;
  }

  async findByReference(_type: 'posting', externalReference: string, ctx: CallContext): Promise<PostingRef | null> {
    this.calls.push({ op: 'find', externalReference, ctx });
    const failure = this.#findFailures.shift();
    if (failure) throw failure;
    return this.documents.get(externalReference) ?? null;
  }

  #store(posting: PostingRequest): PostingRef {
    const existing = this.documents.get(posting.externalReference);
    if (existing) return existing;
    this.#next += 1;
    const ref: PostingRef = {
      system: 'fake',
      dialect: 'fake',
      documentType: 'posting',
      documentId: `doc-${this.#next}`,
      number: `JNL-${String(this.#next).padStart(6, '0')}`,
      status: 'posted',
    };
    this.documents.set(posting.externalReference, ref);
    return ref;
  }
}

function timeout(): FinanceError {
  return new FinanceError('ERP_TIMEOUT', 'ERP "fake" did not answer POST /postings within 100 ms.', {
    retryable: true,
  });
}

/** A valid approved report in the sandbox demo company (FS-DEMO, EUR). */
export function approvedReport(overrides: Partial<ExpenseReport> = {}): ExpenseReport {
  return {
    docType: 'ExpenseReport',
    sourceRef: { system: 'concur', id: 'RPT-1001', version: 2 },
    reportId: 'RPT-1001',
    name: 'Customer workshop',
    employeeId: 'E1011',
    company: 'FS-DEMO',
    submittedAt: '2026-03-10T09:14:03Z',
    state: 'approved',
    total: { amount: '275.50', currency: 'EUR' },
    lines: [
      {
        lineId: '1',
        date: '2026-03-08',
        expenseType: 'LODGING',
        description: 'Hotel, 2 nights',
        amount: { amount: '240.00', currency: 'EUR' },
        dimensions: { costCenter: 'CC-200', glAccount: '6020' },
      },
      {
        lineId: '2',
        date: '2026-03-09',
        merchant: 'Taxi Berlin',
        amount: { amount: '35.50', currency: 'EUR' },
        dimensions: { costCenter: 'CC-200', glAccount: '6000' },
      },
    ],
    ...overrides,
  };
}
