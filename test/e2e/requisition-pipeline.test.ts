/**
 * The `Requisition to purchase order sync` example in a real Node-RED process against the sandbox process
 * (ERP + Coupa simulator), under fault injection on both sides: a few hundred Coupa requisitions created in
 * shuffled order, revised (quantity changes, added and removed lines, re-split coding) and cancelled in
 * waves while the pipeline polls, some re-exported (delivered again), some over budget. The proof is read
 * from GET /_sandbox/state: each PO exists once, with the content of its requisition's last version (or
 * cancelled when the requisition was), and its number and status were written back to the requisition.
 */
import * as http from 'node:http';
import * as path from 'node:path';
import { startNodeRed, startSandboxProcess, stopAll, waitFor, type RunningProcess } from '../support/processes';
import { patchMasterRecord } from '../support/sandbox-api';
const { deployableFlows } = require('../../flows/deployable-flows');

const REQUISITIONS = 240;
const OVER_BUDGET = 12;
const FIRST_ID = 30001;
/** Budgeted accounts of FS-DEMO (lib/sandbox/seed.ts) with room for every small requisition, revisions counted twice. */
const ACCOUNTS: Array<[string, string]> = [
  ['CC-400', '6210'],
  ['CC-400', '6200'],
  ['CC-100', '6300'],
];

interface Line {
  description: string;
  quantity: string;
  price: string;
  splits: Array<[string, string]>;
}
interface Requisition {
  id: number;
  lines: Line[];
  status: 'approved' | 'cancelled';
  overBudget: boolean;
}

interface ErpPurchaseOrder {
  id: string;
  number: string;
  externalReference: string;
  status: string;
  lines: Array<{
    quantity: string;
    unitPrice: { amount: string };
    accountAssignments: Array<{ dimensions: { costCenter?: string; glAccount?: string } }>;
  }>;
}
interface State {
  purchaseOrders: ErpPurchaseOrder[];
  counters: Record<string, number>;
  coupa: {
    requisitions: Array<{ id: number; exported: boolean; 'custom-fields': Record<string, string | null> }>;
    counters: Record<string, number>;
    writebacks: Array<{ id: number; values: Record<string, string | null> }>;
  };
}

/** A small seeded random generator, so a failing run can be repeated. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
}
const rand = random(20261127);
const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)];
function shuffled<T>(items: readonly T[]): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i -= 1) {
    const j = Math.floor(rand() * (i + 1));
    [copy[i], copy[j]] = [copy[j], copy[i]];
  }
  return copy;
}

function price(): string {
  // Small amounts: every requisition fits its budget even while a revision is checked against a budget that
  // still holds the version before it.
  return `${1 + Math.floor(rand() * 2)}.${String(Math.floor(rand() * 100)).padStart(2, '0')}`;
}

function line(index: number): Line {
  const [costCenter, glAccount] = pick(ACCOUNTS);
  const split = rand() < 0.3;
  return {
    description: `Item ${index}`,
    quantity: String(1 + Math.floor(rand() * 4)),
    price: price(),
    splits: split
      ? [
          [costCenter, glAccount],
          ['CC-100', '6300'],
        ]
      : [[costCenter, glAccount]],
  };
}

function account(costCenter: string, glAccount: string) {
  return {
    code: `FSDEMO-${costCenter}-${glAccount}`,
    'segment-1': 'FSDEMO',
    'segment-2': costCenter,
    'segment-3': glAccount,
  };
}

function cents(text: string): bigint {
  const [whole, fraction = ''] = text.split('.');
  return BigInt(whole) * 100n + BigInt(fraction.padEnd(2, '0'));
}
const amountText = (value: bigint) => `${value / 100n}.${String(value % 100n).padStart(2, '0')}`;

/** The requisition as Coupa's API shows it; a 50/50 split is sent as allocations with pct. */
function coupaDocument(requisition: Requisition): Record<string, unknown> {
  const lines = requisition.lines.map((item, index) => {
    const total = cents(item.price) * BigInt(item.quantity);
    const half = total / 2n;
    return {
      'line-num': index + 1,
      description: item.description,
      quantity: item.quantity,
      'unit-price': item.price,
      total: amountText(total),
      currency: { code: 'EUR' },
      supplier: { id: 7001, name: 'Office Depot Europe', number: 'SUP-1001' },
      account: account(...item.splits[0]),
      'account-allocations':
        item.splits.length === 1
          ? []
          : [
              { pct: '50.0', amount: amountText(total - half), account: account(...item.splits[0]) },
              { pct: '50.0', amount: amountText(half), account: account(...item.splits[1]) },
            ],
    };
  });
  return {
    id: requisition.id,
    status: requisition.status,
    'requested-by': { login: 'ytanaka', 'employee-number': 'E1017' },
    currency: { code: 'EUR' },
    'requisition-lines': lines,
  };
}

function revise(requisition: Requisition): void {
  const kind = Math.floor(rand() * 3);
  if (kind === 0 || requisition.lines.length === 1) {
    const target = pick(requisition.lines);
    target.quantity = String(Number(target.quantity) + 1 + Math.floor(rand() * 3));
  } else if (kind === 1) {
    requisition.lines.push(line(requisition.lines.length + 1));
  } else {
    requisition.lines.splice(Math.floor(rand() * requisition.lines.length), 1);
  }
  if (rand() < 0.3) {
    const target = pick(requisition.lines);
    target.splits = target.splits.length === 1 ? [target.splits[0], ['CC-400', '6200']] : [target.splits[1]];
  }
}

async function json<T>(url: string, init?: RequestInit): Promise<{ status: number; body: T }> {
  const response = await fetch(url, init);
  return { status: response.status, body: (await response.json()) as T };
}

/** A loopback server the test wires to the PO node's outputs, to count what each event came to. */
function startCollector(): Promise<{ url: string; seen: string[]; close: () => Promise<void> }> {
  const seen: string[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      seen.push(body);
      res.end('ok');
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      resolve({
        url: `http://127.0.0.1:${port}/outcome`,
        seen,
        close: () => new Promise((r) => server.close(() => r())),
      });
    }),
  );
}

describe('Requisition to purchase order sync, end to end', () => {
  let sandbox: RunningProcess;
  let nodeRed: RunningProcess;
  let collector: Awaited<ReturnType<typeof startCollector>>;

  beforeAll(async () => {
    sandbox = await startSandboxProcess();
    collector = await startCollector();
    const { flows, credentials } = deployableFlows(path.resolve(__dirname, '../../examples/pipelines'), {
      sandboxUrl: sandbox.url,
      only: ['Requisition to purchase order sync'],
    });
    // Poll every second and recover quickly, so the test takes a minute or two rather than the demo's pace.
    const intake = flows.find((node: { id: string }) => node.id === 'req-in');
    Object.assign(intake, { pollSeconds: '1', leaseSeconds: '60', recoverySeconds: '2' });
    const erp = flows.find((node: { id: string }) => node.id === 'req-erp');
    Object.assign(erp, { timeoutMs: '3000', retryInitialSeconds: '0.2', retryMaximumSeconds: '2' });
    const writeback = flows.find((node: { id: string }) => node.id === 'req-writeback');
    Object.assign(writeback, { retryInitialSeconds: '0.2', retryMaximumSeconds: '2', retryMaximumAttempts: '30' });
    // Observe the PO node's outcomes without changing the example: one more wire from each output.
    const po = flows.find((node: { id: string }) => node.id === 'req-po');
    po.wires[0].push('test-synced');
    po.wires[1].push('test-refused');
    const masterData = flows.find((node: { id: string }) => node.id === 'req-master-data');
    masterData.wires[1].push('test-md-synced');
    const observe = (id: string, expression: string) => ({
      id,
      type: 'change',
      z: 'req-tab',
      x: 1100,
      y: 600,
      rules: [{ t: 'set', p: 'payload', pt: 'msg', to: expression, tot: 'jsonata' }],
      wires: [['test-report']],
    });
    flows.push(
      observe('test-synced', '"synced " & purchaseOrder.action & (purchaseOrder.replay ? " (replay)" : "")'),
      observe('test-refused', '"refused " & error.code'),
      observe('test-md-synced', '"master data synced"'),
      {
        id: 'test-report',
        type: 'http request',
        z: 'req-tab',
        x: 1300,
        y: 600,
        method: 'POST',
        ret: 'txt',
        url: collector.url,
        wires: [[]],
      },
    );
    nodeRed = await startNodeRed({ flows, credentials });
  }, 120_000);

  afterAll(async () => {
    await stopAll();
    await collector?.close();
  });

  /** Adds or revises a requisition in the sandbox's Coupa. */
  async function inject(requisition: Requisition): Promise<void> {
    const answer = await json(`${sandbox.url}/_sandbox/coupa/requisitions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(coupaDocument(requisition)),
    });
    expect([200, 201]).toContain(answer.status);
  }

  it('creates each PO once with the last version, applies cancellations, and writes the PO numbers back', async () => {
    const started = Date.now();
    const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

    const requisitions: Requisition[] = Array.from({ length: REQUISITIONS }, (_, i) => ({
      id: FIRST_ID + i,
      lines: Array.from({ length: 1 + Math.floor(rand() * 3) }, (_x, n) => line(n + 1)),
      status: 'approved',
      overBudget: i < OVER_BUDGET,
    }));
    // Over budget: training on CC-400 has 1,000.00 a month.
    for (const requisition of requisitions.filter((r) => r.overBudget)) {
      requisition.lines = [
        { description: 'Conference', quantity: '1', price: '4999.00', splits: [['CC-400', '6500']] },
      ];
    }
    const ordinary = requisitions.filter((r) => !r.overBudget);

    // Faults on both sides while the events flow: 10 % of ERP calls fail with 503, Coupa answers 500s and 429s.
    await json(`${sandbox.url}/_sandbox/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ errorRate: 0.1, errorStatus: 503 }),
    });
    const coupaFault = (status: number, count: number) =>
      json(`${sandbox.url}/_sandbox/coupa/faults`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ status, count, retryAfterSeconds: 1 }),
      });

    let events = 0;
    for (const requisition of shuffled(requisitions)) {
      await inject(requisition);
      events += 1;
    }
    await coupaFault(500, 5);
    await pause(2500);
    // Revisions in shuffled order, in two waves, some seen by the poller and some overtaken by the next.
    let revisions = 0;
    for (const wave of [0.5, 0.35]) {
      for (const requisition of shuffled(ordinary).slice(0, Math.floor(ordinary.length * wave))) {
        revise(requisition);
        await inject(requisition);
        revisions += 1;
      }
      await coupaFault(429, 3);
      await pause(2000);
    }
    // Cancel requisitions whose PO exists (Coupa was told its number), so the cancel reaches the ERP.
    const cancelled = shuffled(ordinary).slice(0, 30);
    await waitFor(
      'the POs to be cancelled to exist',
      async () => {
        const current = (await json<State>(`${sandbox.url}/_sandbox/state`)).body;
        const ordered = new Set(
          current.coupa.requisitions.filter((r) => r['custom-fields']['erp-po-number']).map((r) => r.id),
        );
        return cancelled.every((requisition) => ordered.has(requisition.id)) ? true : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 500 },
    );
    for (const requisition of cancelled) {
      requisition.status = 'cancelled';
      await inject(requisition);
    }
    // Delivered again: Coupa marked as not exported, so the poller fetches the same revision once more.
    const reExported = shuffled(ordinary.filter((r) => r.status === 'approved')).slice(0, 40);
    for (const requisition of reExported) {
      for (;;) {
        const answer = await fetch(`${sandbox.url}/coupa/api/requisitions/${requisition.id}?exported=false`, {
          method: 'PUT',
        });
        if (answer.ok) break;
        await pause(200);
      }
    }
    events += revisions + cancelled.length;

    /** Every way the sandbox's state differs from the requisitions' last versions; empty when all is done. */
    const problems = (current: State): string[] => {
      const ours = current.purchaseOrders.filter((po) => /^coupa:3\d{4}$/.test(po.externalReference));
      const found: string[] = [];
      const references = ours.map((po) => po.externalReference);
      if (new Set(references).size !== references.length) found.push('a requisition has two POs');
      const byReference = new Map(ours.map((po) => [po.externalReference, po]));
      const coupaById = new Map(current.coupa.requisitions.map((r) => [r.id, r]));
      for (const requisition of requisitions) {
        const po = byReference.get(`coupa:${requisition.id}`);
        const coupa = coupaById.get(requisition.id);
        const fields = coupa?.['custom-fields'] ?? {};
        const problem = (what: string) => found.push(`${requisition.id}: ${what}`);
        if (!coupa?.exported) problem('not exported');
        if (requisition.overBudget) {
          if (po !== undefined) problem(`over budget but PO ${po.number}`);
          if (fields['erp-po-status'] !== 'budget_exceeded') problem(`status ${fields['erp-po-status']}`);
          continue;
        }
        if (po === undefined) {
          problem('no PO');
          continue;
        }
        if (fields['erp-po-number'] !== po.number)
          problem(`number ${fields['erp-po-number']} in Coupa, ${po.number} in the ERP`);
        const status = requisition.status === 'cancelled' ? 'cancelled' : 'open';
        if (po.status !== status) problem(`PO ${po.status}, wanted ${status}`);
        if (fields['erp-po-status'] !== (status === 'open' ? 'ordered' : 'cancelled'))
          problem(`Coupa status ${fields['erp-po-status']}`);
        if (status === 'cancelled') continue;
        const wanted = requisition.lines.map((item) => ({
          quantity: item.quantity,
          unitPrice: item.price,
          accounts: item.splits.map(([costCenter, glAccount]) => `${costCenter}/${glAccount}`),
        }));
        const got = po.lines.map((item) => ({
          quantity: item.quantity,
          unitPrice: item.unitPrice.amount,
          accounts: item.accountAssignments.map(
            (split) => `${split.dimensions.costCenter}/${split.dimensions.glAccount}`,
          ),
        }));
        if (JSON.stringify(got) !== JSON.stringify(wanted))
          problem(`lines ${JSON.stringify(got)}, wanted ${JSON.stringify(wanted)}`);
      }
      return found;
    };

    let last: string[] = [];
    const state = await waitFor(
      'every requisition to reach its final state in the ERP and in Coupa',
      async () => {
        const current = (await json<State>(`${sandbox.url}/_sandbox/state`)).body;
        last = problems(current);
        return last.length === 0 ? current : undefined;
      },
      { timeoutMs: Number(process.env.REQ_E2E_TIMEOUT_MS ?? 240_000), intervalMs: 1000 },
    ).catch((error: unknown) => {
      console.log(
        `${last.length} problems, the first:\n${last.slice(0, 20).join('\n')}\n${nodeRed.output().slice(-3000)}`,
      );
      throw error;
    });
    const seconds = (Date.now() - started) / 1000;
    expect(problems(state)).toEqual([]);
    const ours = state.purchaseOrders.filter((po) => /^coupa:3\d{4}$/.test(po.externalReference));
    const cancelledInErp = ours.filter((po) => po.status === 'cancelled').length;

    const writebacksPerRequisition = new Map<number, number>();
    for (const writeback of state.coupa.writebacks) {
      writebacksPerRequisition.set(writeback.id, (writebacksPerRequisition.get(writeback.id) ?? 0) + 1);
    }
    const outcomes = new Map<string, number>();
    for (const outcome of collector.seen) outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    const writtenBack = new Map<string, number>();
    for (const writeback of state.coupa.writebacks) {
      const status = String(writeback.values['erp-po-status']);
      writtenBack.set(status, (writtenBack.get(status) ?? 0) + 1);
    }
    console.log(
      `requisition e2e outcomes at the PO node: ${JSON.stringify(Object.fromEntries([...outcomes].sort()))}; ` +
        `write-backs by status: ${JSON.stringify(Object.fromEntries(writtenBack))}`,
    );
    console.log(
      `requisition e2e: ${REQUISITIONS} requisitions (${OVER_BUDGET} over budget), ${events} Coupa changes ` +
        `(${revisions} revisions, ${cancelled.length} cancellations), ${reExported.length} re-exported; ` +
        `${ours.length} POs (${cancelledInErp} cancelled in the ERP); ERP: ${state.counters.requests} requests, ` +
        `${state.counters.faultsInjected} faults injected, ${state.counters.duplicateWritesPrevented ?? 0} duplicate writes prevented; ` +
        `Coupa: ${state.coupa.counters.requests} requests, ${state.coupa.counters.faultsInjected} faults, ` +
        `${state.coupa.counters.exportMarks} export marks, ${state.coupa.writebacks.length} write-backs ` +
        `(at most ${Math.max(...writebacksPerRequisition.values())} per requisition); ${seconds.toFixed(1)} s`,
    );
  }, 420_000);

  it('keeps a PO the ERP refuses as a dead letter, and creates it once when it is replayed after the fix', async () => {
    await json(`${sandbox.url}/_sandbox/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    const setSupplierStatus = (status: 'blocked' | 'active') =>
      patchMasterRecord(sandbox.url, 'suppliers', 'SUP-1001', { status });
    const state = async () => (await json<State>(`${sandbox.url}/_sandbox/state`)).body;
    const lettersOf = async (id: number) => {
      const page = await json<{ letters: Array<Record<string, any>> }>(
        `${nodeRed.url}/finance-dead-letter/req-dead-letter/letters?limit=500`,
      );
      return page.body.letters.filter((letter) => letter.docId === String(id));
    };
    const requisition: Requisition = {
      id: 39001,
      lines: [{ description: 'Standing desk', quantity: '1', price: '1.50', splits: [['CC-400', '6200']] }],
      status: 'approved',
      overBudget: false,
    };

    // Purchasing blocks the supplier in the ERP; the requisition's PO is refused (by the ERP, or by the PO
    // node's master-data check if the master-data node synced since) and waits in the dead letters.
    await setSupplierStatus('blocked');
    await inject(requisition);
    const [letter] = await waitFor('the refused PO to wait in the dead letters', async () => {
      const letters = await lettersOf(requisition.id);
      return letters.length > 0 ? letters : undefined;
    });
    expect(letter).toMatchObject({ status: 'open', error: { code: 'ERP_REJECTED', nodeId: 'req-po' } });
    expect(letter.error.message).toContain('SUP-1001');
    const reference = `coupa:${requisition.id}`;
    expect((await state()).purchaseOrders.filter((po) => po.externalReference === reference)).toEqual([]);

    // The supplier is unblocked, the master data synced (the button), the letter replayed: the PO is created
    // once and its number reaches Coupa.
    await setSupplierStatus('active');
    const syncs = () => collector.seen.filter((seen) => seen === 'master data synced').length;
    const syncsBefore = syncs();
    expect((await fetch(`${nodeRed.url}/inject/req-md-sync-now`, { method: 'POST' })).status).toBe(200);
    await waitFor('the master data to be synced', async () => (syncs() > syncsBefore ? true : undefined));
    const replay = await json(`${nodeRed.url}/finance-dead-letter/req-dead-letter/replay`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ids: [letter.id] }),
    });
    expect(replay.status).toBe(200);
    const done = await waitFor('the replayed PO to be created and written back to Coupa', async () => {
      const current = await state();
      const coupa = current.coupa.requisitions.find((each) => each.id === requisition.id);
      return coupa?.['custom-fields']['erp-po-number'] ? { current, coupa } : undefined;
    });
    const pos = done.current.purchaseOrders.filter((po) => po.externalReference === reference);
    expect(pos).toHaveLength(1);
    expect(done.coupa['custom-fields']).toMatchObject({ 'erp-po-number': pos[0].number, 'erp-po-status': 'ordered' });
    expect((await lettersOf(requisition.id)).map((each) => each.status)).toEqual(['replayed']);
  }, 120_000);
});
