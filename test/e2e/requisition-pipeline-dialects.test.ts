/**
 * The `Requisition to purchase order sync` example in a real Node-RED process against the sandbox's Business
 * Central and ERPNext simulators (with its Coupa simulator), switched by changing only the finance-erp
 * connection: requisitions created in shuffled order, revised (quantities, added and removed lines, re-split
 * coding), cancelled, re-exported (delivered again), some over budget. The proof is read from each vendor
 * simulator's own state: each PO exists once with its requisition's last version, cancelled ones are cancelled
 * (deleted in BC, docstatus 2 in ERPNext), over-budget ones have no PO, and Coupa holds each PO number.
 * SAP S/4HANA has no funds check call: the example's commitment check reports `deferred` and SAP's availability
 * control refuses the over-budget orders when they are written (BP/604), which ends as budget_exceeded too.
 */
import * as path from 'node:path';
import { SAP_E2E_CONNECTION, SAP_E2E_CREDENTIALS } from '../support/sap-connection';
import { startNodeRed, startSandboxProcess, stopAll, waitFor, type RunningProcess } from '../support/processes';
const { deployableFlows } = require('../../flows/deployable-flows');

const REQUISITIONS = Number(process.env.E2E_DIALECT_REQUISITIONS ?? 40);
const OVER_BUDGET = 3;
const FIRST_ID = 30001;
const CLIENT_ID = 'e2e-client';
const CLIENT_SECRET = 'e2e-client-secret-value';
const ACCOUNTS: Array<[string, string]> = [
  ['CC-400', '6210'],
  ['CC-400', '6200'],
  ['CC-100', '6300'],
];

interface Line {
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

/** A PO as the test compares it: its bookings (cost center/account) and its total in cents. */
interface VendorPo {
  number: string;
  status: 'open' | 'cancelled';
  accounts: string[];
  totalCents: number;
}

interface Dialect {
  name: string;
  connection: Record<string, unknown>;
  credentials: Record<string, string>;
  /** The POs per external reference, read from the vendor simulator's state (cancelled ones included). */
  purchaseOrders(state: Record<string, any>): Map<string, VendorPo[]>;
}

const cents = (value: number) => Math.round(value * 100);
const append = (map: Map<string, VendorPo[]>, key: string, po: VendorPo) => map.set(key, [...(map.get(key) ?? []), po]);

const DIALECTS: Dialect[] = [
  {
    name: 'business-central',
    connection: {
      dialect: 'business-central',
      company: 'FS-DEMO',
      bcTenant: 'contoso.onmicrosoft.com',
      bcEnvironment: 'Production',
      bcReferenceApi: 'finsync/finance/v1.0',
      authType: 'oauth2',
      tokenUrl: '',
      scope: '',
    },
    credentials: { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET },
    // BC cancels a PO by deleting it: a cancelled requisition leaves no PO.
    purchaseOrders: (state) => {
      const company = state.businessCentral.companies.find((c: { name: string }) => c.name === 'FS-DEMO');
      const found = new Map<string, VendorPo[]>();
      for (const po of company.purchaseOrders) {
        const lines = po.purchaseOrderLines as Array<Record<string, any>>;
        append(found, po.yourReference, {
          number: po.number,
          status: 'open',
          accounts: lines
            .map((line) => {
              const department = (line.dimensionSetLines as Array<{ code: string; valueCode: string }>).find(
                (d) => d.code === 'DEPARTMENT',
              );
              return `${department?.valueCode}/${line.lineObjectNumber}`;
            })
            .sort(),
          totalCents: lines.reduce((sum, line) => sum + cents(line.quantity * line.directUnitCost), 0),
        });
      }
      return found;
    },
  },
  {
    name: 'erpnext',
    connection: { dialect: 'erpnext', company: 'FS-DEMO', erpnextPayableAccount: '2910', authType: 'frappeToken' },
    credentials: { apiKey: CLIENT_ID, apiSecret: CLIENT_SECRET },
    // A change to a submitted PO cancels it and submits its amendment: one live PO per requisition at most.
    purchaseOrders: (state) => {
      const found = new Map<string, VendorPo[]>();
      for (const po of state.erpnext.purchaseOrders as Array<Record<string, any>>) {
        const items = po.items as Array<Record<string, any>>;
        append(found, po.custom_external_ref, {
          number: po.name,
          status: po.docstatus === 2 ? 'cancelled' : 'open',
          accounts: items
            .map(
              (item) => `${String(item.cost_center).split(' - ')[0]}/${String(item.expense_account).split(' - ')[0]}`,
            )
            .sort(),
          totalCents: items.reduce((sum, item) => sum + cents(item.qty * item.rate), 0),
        });
      }
      return found;
    },
  },
  {
    name: 'sap',
    connection: { ...SAP_E2E_CONNECTION },
    credentials: SAP_E2E_CREDENTIALS,
    // Cancel sets the deletion code L on the order; Your Reference holds the external reference in upper case.
    purchaseOrders: (state) => {
      const found = new Map<string, VendorPo[]>();
      for (const po of state.sap.purchaseOrders as Array<Record<string, any>>) {
        const items = (po.items as Array<Record<string, any>>).filter(
          (item) => item.PurchasingDocumentDeletionCode !== 'L',
        );
        append(found, String(po.CorrespncExternalReference).toLowerCase(), {
          number: po.PurchaseOrder,
          status: po.PurchasingDocumentDeletionCode === 'L' ? 'cancelled' : 'open',
          accounts: items
            .flatMap((item) =>
              (item.accountAssignments as Array<Record<string, any>>).map((a) => `${a.CostCenter}/${a.GLAccount}`),
            )
            .sort(),
          totalCents: items.reduce(
            (sum, item) => sum + cents(Number(item.OrderQuantity) * Number(item.NetPriceAmount)),
            0,
          ),
        });
      }
      return found;
    },
  },
];

/** A small seeded random generator, so a failing run can be repeated. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
}

function generator(seed: number) {
  const rand = random(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)];
  const shuffled = <T>(items: readonly T[]): T[] => {
    const copy = [...items];
    for (let i = copy.length - 1; i > 0; i -= 1) {
      const j = Math.floor(rand() * (i + 1));
      [copy[i], copy[j]] = [copy[j], copy[i]];
    }
    return copy;
  };
  const line = (): Line => {
    const first = pick(ACCOUNTS);
    return {
      quantity: String(1 + Math.floor(rand() * 4)),
      price: `${1 + Math.floor(rand() * 2)}.${String(Math.floor(rand() * 100)).padStart(2, '0')}`,
      splits: rand() < 0.3 ? [first, ['CC-100', '6300']] : [first],
    };
  };
  const revise = (requisition: Requisition): void => {
    const kind = Math.floor(rand() * 3);
    if (kind === 0 || requisition.lines.length === 1) {
      const target = pick(requisition.lines);
      target.quantity = String(Number(target.quantity) + 1 + Math.floor(rand() * 3));
    } else if (kind === 1) {
      requisition.lines.push(line());
    } else {
      requisition.lines.splice(Math.floor(rand() * requisition.lines.length), 1);
    }
    if (rand() < 0.3) {
      const target = pick(requisition.lines);
      target.splits = target.splits.length === 1 ? [target.splits[0], ['CC-400', '6200']] : [target.splits[1]];
    }
  };
  return { rand, shuffled, line, revise };
}

function toCents(text: string): bigint {
  const [whole, fraction = ''] = text.split('.');
  return BigInt(whole) * 100n + BigInt(fraction.padEnd(2, '0'));
}
const amountText = (value: bigint) => `${value / 100n}.${String(value % 100n).padStart(2, '0')}`;
const lineTotal = (item: Line) => toCents(item.price) * BigInt(item.quantity);

function account(costCenter: string, glAccount: string) {
  return {
    code: `FSDEMO-${costCenter}-${glAccount}`,
    'segment-1': 'FSDEMO',
    'segment-2': costCenter,
    'segment-3': glAccount,
  };
}

/** The requisition as Coupa's API shows it; a split is sent as two 50 % allocations. */
function coupaDocument(requisition: Requisition): Record<string, unknown> {
  return {
    id: requisition.id,
    status: requisition.status,
    'requested-by': { login: 'ytanaka', 'employee-number': 'E1017' },
    currency: { code: 'EUR' },
    'requisition-lines': requisition.lines.map((item, index) => {
      const total = lineTotal(item);
      const half = total / 2n;
      return {
        'line-num': index + 1,
        description: `Item ${index + 1}`,
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
    }),
  };
}

async function json<T>(url: string, init?: RequestInit): Promise<{ status: number; body: T }> {
  const response = await fetch(url, init);
  return { status: response.status, body: (await response.json()) as T };
}

describe.each(DIALECTS)('Requisition to purchase order sync, end to end, against the $name simulator', (dialect) => {
  let sandbox: RunningProcess;
  let nodeRed: RunningProcess;

  beforeAll(async () => {
    sandbox = await startSandboxProcess();
    const { flows, credentials } = deployableFlows(path.resolve(__dirname, '../../examples/pipelines'), {
      sandboxUrl: sandbox.url,
      only: ['Requisition to purchase order sync'],
    });
    // The only change to the example's meaning: its ERP connection. The timings are the test's (as in the
    // sandbox e2e): poll every second, recover and retry quickly.
    const erp = flows.find((node: { id: string }) => node.id === 'req-erp');
    Object.assign(erp, dialect.connection, { timeoutMs: '3000', retryInitialSeconds: '0.2', retryMaximumSeconds: '2' });
    credentials[erp.id] = dialect.credentials;
    const intake = flows.find((node: { id: string }) => node.id === 'req-in');
    Object.assign(intake, { pollSeconds: '1', leaseSeconds: '60', recoverySeconds: '2' });
    nodeRed = await startNodeRed({ flows, credentials });
  }, 120_000);

  afterAll(async () => {
    await stopAll();
  });

  it('creates each PO once with the last version, applies cancellations, and writes the PO numbers back', async () => {
    const { rand, shuffled, line, revise } = generator(20261128);
    const inject = async (requisition: Requisition) => {
      const answer = await json(`${sandbox.url}/_sandbox/coupa/requisitions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(coupaDocument(requisition)),
      });
      expect([200, 201]).toContain(answer.status);
    };
    /** What Node-RED, Coupa, the vendor simulator and the dead letters say: the fastest way to see why. */
    const diagnose = async () => {
      const current = (await json<Record<string, any>>(`${sandbox.url}/_sandbox/state`)).body;
      const letters = await (await fetch(`${nodeRed.url}/finance-dead-letter/req-dead-letter/letters`)).text();
      console.log(
        `${nodeRed.output().slice(-3000)}\n` +
          JSON.stringify({
            exported: current.coupa.requisitions.filter((r: { exported: boolean }) => r.exported).length,
            writebacks: current.coupa.writebacks.length,
            coupa: current.coupa.counters,
            vendorPurchaseOrders: [...dialect.purchaseOrders(current).values()].flat().length,
          }) +
          `\n${letters.slice(0, 3000)}`,
      );
    };
    const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    const requisitions: Requisition[] = Array.from({ length: REQUISITIONS }, (_, i) => ({
      id: FIRST_ID + i,
      lines: Array.from({ length: 1 + Math.floor(rand() * 3) }, () => line()),
      status: 'approved',
      overBudget: i < OVER_BUDGET,
    }));
    // Over budget: training on CC-400 has 1,000.00 a month. ERPNext checks the budget accumulated since the
    // start of the fiscal year (11,000.00 by November), Business Central the month: over both.
    for (const requisition of requisitions.filter((r) => r.overBudget)) {
      requisition.lines = [{ quantity: '1', price: '49999.00', splits: [['CC-400', '6500']] }];
    }
    const ordinary = requisitions.filter((r) => !r.overBudget);

    for (const requisition of shuffled(requisitions)) await inject(requisition);
    await pause(2000);
    let revisions = 0;
    for (const wave of [0.5, 0.35]) {
      for (const requisition of shuffled(ordinary).slice(0, Math.floor(ordinary.length * wave))) {
        revise(requisition);
        await inject(requisition);
        revisions += 1;
      }
      await pause(2000);
    }
    // Cancel requisitions whose PO exists (Coupa was told its number), so the cancel reaches the ERP.
    const cancelled = shuffled(ordinary).slice(0, 6);
    await waitFor(
      'the POs to be cancelled to exist',
      async () => {
        const coupa = (await json<Record<string, any>>(`${sandbox.url}/_sandbox/state`)).body.coupa;
        const ordered = new Set(
          (coupa.requisitions as Array<Record<string, any>>)
            .filter((r) => r['custom-fields']['erp-po-number'])
            .map((r) => r.id),
        );
        return cancelled.every((requisition) => ordered.has(requisition.id)) ? true : undefined;
      },
      { timeoutMs: Number(process.env.REQ_E2E_CANCEL_WAIT_MS ?? 120_000), intervalMs: 500 },
    ).catch(async (error: unknown) => {
      await diagnose();
      throw error;
    });
    for (const requisition of cancelled) {
      requisition.status = 'cancelled';
      await inject(requisition);
    }
    // Delivered again: marked as not exported, so the poller fetches the same revision once more.
    const reExported = shuffled(ordinary.filter((r) => r.status === 'approved')).slice(0, 8);
    for (const requisition of reExported) {
      const answer = await fetch(`${sandbox.url}/coupa/api/requisitions/${requisition.id}?exported=false`, {
        method: 'PUT',
      });
      expect(answer.ok).toBe(true);
    }

    /** Every way the vendor simulator's state differs from the requisitions' last versions. */
    const problems = (state: Record<string, any>): string[] => {
      const found: string[] = [];
      const byReference = dialect.purchaseOrders(state);
      const coupaById = new Map(
        (state.coupa.requisitions as Array<Record<string, any>>).map((r) => [r.id as number, r]),
      );
      for (const requisition of requisitions) {
        const problem = (what: string) => found.push(`${requisition.id}: ${what}`);
        const pos = byReference.get(`coupa:${requisition.id}`) ?? [];
        const open = pos.filter((po) => po.status === 'open');
        const coupa = coupaById.get(requisition.id);
        const fields = coupa?.['custom-fields'] ?? {};
        if (!coupa?.exported) problem('not exported');
        if (open.length > 1) problem(`${open.length} open POs`);
        if (requisition.overBudget) {
          if (pos.length > 0) problem(`over budget but PO ${pos[0].number}`);
          if (fields['erp-po-status'] !== 'budget_exceeded') problem(`Coupa status ${fields['erp-po-status']}`);
          continue;
        }
        if (requisition.status === 'cancelled') {
          if (open.length > 0) problem(`cancelled but PO ${open[0].number} is open`);
          if (fields['erp-po-status'] !== 'cancelled') problem(`Coupa status ${fields['erp-po-status']}`);
          continue;
        }
        const po = open[0];
        if (po === undefined) {
          problem('no open PO');
          continue;
        }
        if (fields['erp-po-number'] !== po.number)
          problem(`number ${fields['erp-po-number']} in Coupa, ${po.number} in the ERP`);
        if (fields['erp-po-status'] !== 'ordered') problem(`Coupa status ${fields['erp-po-status']}`);
        const wanted = {
          accounts: requisition.lines.flatMap((item) => item.splits.map(([cc, gl]) => `${cc}/${gl}`)).sort(),
          totalCents: Number(requisition.lines.reduce((sum, item) => sum + lineTotal(item), 0n)),
        };
        const got = { accounts: po.accounts, totalCents: po.totalCents };
        if (JSON.stringify(got) !== JSON.stringify(wanted))
          problem(`PO ${JSON.stringify(got)}, wanted ${JSON.stringify(wanted)}`);
      }
      return found;
    };

    let last: string[] = [];
    const state = await waitFor(
      'every requisition to reach its final state in the ERP and in Coupa',
      async () => {
        const current = (await json<Record<string, any>>(`${sandbox.url}/_sandbox/state`)).body;
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
    expect(problems(state)).toEqual([]);
    // Nothing went through the sandbox's own ERP API: the connection really spoke the vendor's.
    expect(state.purchaseOrders).toEqual([]);
    const statuses = new Map<string, number>();
    for (const writeback of state.coupa.writebacks as Array<{ values: Record<string, string> }>) {
      const status = String(writeback.values['erp-po-status']);
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
    }
    console.log(
      `requisition e2e (${dialect.name}): ${REQUISITIONS} requisitions (${OVER_BUDGET} over budget), ` +
        `${revisions} revisions, ${cancelled.length} cancellations, ${reExported.length} re-exported; ` +
        `write-backs by status ${JSON.stringify(Object.fromEntries(statuses))}`,
    );
  }, 360_000);
});
