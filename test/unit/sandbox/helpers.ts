/**
 * Shared set-up of the sandbox tests: a sandbox on an ephemeral loopback port with a settable clock and a
 * scripted random source, a small fetch wrapper, and document bodies that pass validation.
 */
import { startSandbox, type SandboxHandle, type SandboxOptions } from '../../../lib/sandbox/server';

export interface TestSandbox {
  handle: SandboxHandle;
  /** The clock the sandbox reads; tests move it forward. */
  clock: { now: Date };
  /** Random draws handed out in order; 0.99 (no fault) once they run out. */
  draws: number[];
  call(method: string, path: string, options?: CallOptions): Promise<Reply>;
}

export interface CallOptions {
  body?: unknown;
  /** Sent as is, instead of JSON.stringify(body). */
  raw?: string;
  headers?: Record<string, string>;
}

export interface Reply {
  status: number;
  headers: Headers;
  body: any;
}

export const START = new Date('2025-03-15T10:00:00.000Z');
export const PERIOD = '2025-03';
export const DEMO = '/api/v1/companies/FS-DEMO';

export async function startTestSandbox(options: SandboxOptions = {}): Promise<TestSandbox> {
  const clock = { now: new Date(START) };
  const draws: number[] = [];
  const handle = await startSandbox({
    now: () => clock.now,
    random: () => draws.shift() ?? 0.99,
    ...options,
  });
  return { handle, clock, draws, call: (method, path, callOptions) => call(handle.url, method, path, callOptions) };
}

export async function call(baseUrl: string, method: string, path: string, options: CallOptions = {}): Promise<Reply> {
  const hasBody = options.raw !== undefined || options.body !== undefined;
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { ...(hasBody ? { 'content-type': 'application/json' } : {}), ...options.headers },
    body: options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body)),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
}

export function eur(amount: string) {
  return { amount, currency: 'EUR' };
}

export interface PoOptions {
  externalReference?: string;
  supplierId?: string;
  amount?: string;
  costCenter?: string;
  glAccount?: string;
}

/** A one-line purchase order: quantity 1 at `amount`, charged to one cost center and GL account. */
export function purchaseOrderBody(options: PoOptions = {}) {
  const amount = options.amount ?? '100.00';
  return {
    externalReference: options.externalReference ?? 'REQ-1001',
    supplierId: options.supplierId ?? 'SUP-1001',
    orderDate: `${PERIOD}-10`,
    currency: 'EUR',
    lines: [
      {
        lineId: '1',
        description: 'Team dinner catering',
        quantity: '1',
        unitPrice: eur(amount),
        amount: eur(amount),
        accountAssignments: [
          { dimensions: { costCenter: options.costCenter ?? 'CC-300', glAccount: options.glAccount ?? '6010' } },
        ],
      },
    ],
  };
}

export function postingBody(options: { externalReference?: string; amount?: string; kind?: string } = {}) {
  return {
    kind: options.kind ?? 'journal',
    externalReference: options.externalReference ?? 'EXP-2001',
    employeeId: 'E1015',
    postingDate: `${PERIOD}-12`,
    currency: 'EUR',
    lines: [
      {
        lineId: '1',
        amount: eur(options.amount ?? '50.00'),
        dimensions: { costCenter: 'CC-300', glAccount: '6010' },
        description: 'Client lunch',
      },
    ],
  };
}

/** Polls a condition on the sandbox's own state (no sleeping for a fixed time). */
export async function until(condition: () => boolean): Promise<void> {
  for (let attempt = 0; attempt < 500; attempt += 1) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error('condition not reached');
}
