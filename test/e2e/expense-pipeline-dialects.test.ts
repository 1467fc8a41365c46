/**
 * The `Expense approval sync` example in a real Node-RED process against the sandbox's Business Central,
 * ERPNext (journal entries, and payables as purchase invoices) and SAP simulators, switched by changing only
 * the finance-erp connection (dialect, its fields and credentials): signed events (some delivered twice), approvals driven through the approver endpoint, and the
 * proof read from the vendor simulator: every report posted exactly once as the vendor's own journal
 * document, its number written back to the source, over-budget reports decided by the finance controller.
 * SAP S/4HANA: reports post as supplier invoices (API_SUPPLIERINVOICE_PROCESS_SRV) with the employee as
 * invoicing party; SAP has no funds check call, so every report's budget is `deferred` (no controller stage),
 * and SAP publishes no employee directory with managers and approval limits, so the example's master data node
 * ("the ERP, else the source") reads employees from the expense source there: still only the connection changes.
 */
import * as http from 'node:http';
import * as path from 'node:path';
import { fitReference } from '../../lib/erp/reference';
import { sampleEvent } from '../../lib/sources/sampleEvents';
import { SAP_E2E_CONNECTION, SAP_E2E_CREDENTIALS } from '../support/sap-connection';
import { startNodeRed, startSandboxProcess, stopAll, waitFor, type RunningProcess } from '../support/processes';
const { deployableFlows, DEMO_WEBHOOK_SECRET } = require('../../flows/deployable-flows');

const VALID = Number(process.env.E2E_DIALECT_REPORTS ?? 60);
const DUPLICATES = Math.min(10, VALID);
const SOURCE_SYSTEM = 'cloudevents:urn:finance-sync:samples';
const CLIENT_ID = 'e2e-client';
const CLIENT_SECRET = 'e2e-client-secret-value';

interface Observed {
  reportId: string;
  budget?: { status: string };
  approval: { chain: Array<{ decidedBy?: string }> };
}

interface Writeback {
  documentId: string;
  status: string;
  erpRef?: { number?: string; dialect?: string };
}

interface Dialect {
  name: string;
  /** The finance-erp node's fields for this ERP (everything else of the example stays). */
  connection: Record<string, unknown>;
  credentials: Record<string, string>;
  /** Posted document number per external reference, read from the simulator's state. */
  posted(state: Record<string, any>): Map<string, string[]>;
  /** The finance-post node's fields when the case changes them (the posting setting). */
  post?: Record<string, unknown>;
  /** The connection's dialect when the case name is not it. */
  erpDialect?: string;
  /** The reference as the ERP's field holds it (default: as sent). */
  referenceKey?(reference: string): string;
  /** True for an ERP without a funds check call: every budget is `deferred`, none exceeded. */
  budgetCheckedAtWrite?: boolean;
}

const DIALECTS: Dialect[] = [
  {
    name: 'business-central',
    connection: {
      dialect: 'business-central',
      company: 'FS-DEMO',
      bcTenant: 'contoso.onmicrosoft.com',
      bcEnvironment: 'Production',
      authType: 'oauth2',
      tokenUrl: '',
      scope: '',
    },
    credentials: { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET },
    posted: (state) => {
      const company = state.businessCentral.companies.find((c: { name: string }) => c.name === 'FS-DEMO');
      const byDocument = new Map<string, string[]>();
      // Each posted journal line leaves its entry and the balancing entry; count the expense side.
      for (const entry of company.generalLedgerEntries as Array<{ documentNumber: string; accountNumber: string }>) {
        if (entry.accountNumber === '2910') continue;
        byDocument.set(entry.documentNumber, [...(byDocument.get(entry.documentNumber) ?? []), entry.documentNumber]);
      }
      return byDocument;
    },
  },
  {
    name: 'erpnext',
    connection: { dialect: 'erpnext', company: 'FS-DEMO', erpnextPayableAccount: '2910', authType: 'frappeToken' },
    credentials: { apiKey: CLIENT_ID, apiSecret: CLIENT_SECRET },
    posted: (state) => {
      const byReference = new Map<string, string[]>();
      for (const entry of state.erpnext.journalEntries as Array<{
        cheque_no: string;
        name: string;
        docstatus: number;
      }>) {
        if (entry.docstatus !== 1) continue;
        byReference.set(entry.cheque_no, [...(byReference.get(entry.cheque_no) ?? []), entry.name]);
      }
      return byReference;
    },
  },
  {
    name: 'sap',
    connection: { ...SAP_E2E_CONNECTION },
    credentials: SAP_E2E_CREDENTIALS,
    posted: (state) => {
      const byReference = new Map<string, string[]>();
      for (const invoice of state.sap.supplierInvoices as Array<{
        SupplierInvoiceIDByInvcgParty: string;
        SupplierInvoice: string;
      }>) {
        const key = invoice.SupplierInvoiceIDByInvcgParty;
        byReference.set(key, [...(byReference.get(key) ?? []), invoice.SupplierInvoice]);
      }
      return byReference;
    },
    referenceKey: (reference) => fitReference(reference, 16, { upperCase: true }),
    budgetCheckedAtWrite: true,
  },
];

/** ERPNext with payable posting: the same connection, only finance-post's posting kind changed. */
const PAYABLE_CASES: Dialect[] = [
  {
    name: 'erpnext (payables)',
    erpDialect: 'erpnext',
    connection: { dialect: 'erpnext', company: 'FS-DEMO', authType: 'frappeToken' },
    credentials: { apiKey: CLIENT_ID, apiSecret: CLIENT_SECRET },
    post: { kind: 'payable' },
    posted: (state) => {
      expect(state.erpnext.journalEntries).toEqual([]);
      const byReference = new Map<string, string[]>();
      for (const invoice of state.erpnext.purchaseInvoices as Array<{
        bill_no: string;
        name: string;
        docstatus: number;
        supplier: string;
      }>) {
        if (invoice.docstatus !== 1) continue;
        // Each reimbursement is owed to the employee's own Supplier.
        expect(invoice.supplier).toMatch(/\(E\d+\)$/);
        byReference.set(invoice.bill_no, [...(byReference.get(invoice.bill_no) ?? []), invoice.name]);
      }
      return byReference;
    },
  },
];

function startCollector(): Promise<{ url: string; seen: Observed[]; close: () => Promise<void> }> {
  const seen: Observed[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      seen.push(JSON.parse(body) as Observed);
      res.end('ok');
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      resolve({
        url: `http://127.0.0.1:${port}/approved`,
        seen,
        close: () => new Promise((r) => server.close(() => r())),
      });
    }),
  );
}

async function post(url: string, headers: Record<string, string>, body: Buffer | string) {
  const response = await fetch(url, {
    method: 'POST',
    headers,
    body: typeof body === 'string' ? body : new Uint8Array(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}

async function inBatches<T, R>(items: T[], size: number, run: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  for (let i = 0; i < items.length; i += size) results.push(...(await Promise.all(items.slice(i, i + size).map(run))));
  return results;
}

describe.each([...DIALECTS, ...PAYABLE_CASES])(
  'Expense approval sync, end to end, against the $name simulator',
  (dialect) => {
    let sandbox: RunningProcess;
    let nodeRed: RunningProcess;
    let collector: Awaited<ReturnType<typeof startCollector>>;

    beforeAll(async () => {
      // The example writes back to the sandbox without credentials, so the sandbox runs without OAuth2; the BC
      // connection still fetches its token from the simulator's Entra path (OAuth2 itself: test/unit/dialects).
      sandbox = await startSandboxProcess();
      collector = await startCollector();
      const { flows, credentials } = deployableFlows(path.resolve(__dirname, '../../examples/pipelines'), {
        sandboxUrl: sandbox.url,
        only: ['Expense approval sync'],
      });
      // The only change to the example: its ERP connection.
      const erp = flows.find((node: { type: string }) => node.type === 'finance-erp');
      Object.assign(erp, dialect.connection);
      credentials[erp.id] = dialect.credentials;
      if (dialect.post)
        Object.assign(
          flows.find((node: { type: string }) => node.type === 'finance-post'),
          dialect.post,
        );
      const approval = flows.find((node: { id: string }) => node.id === 'exp-approval');
      approval.wires[0].push('test-observe');
      flows.push(
        {
          id: 'test-observe',
          type: 'change',
          z: 'exp-tab',
          x: 1100,
          y: 900,
          rules: [
            {
              t: 'set',
              p: 'payload',
              pt: 'msg',
              to: '{"reportId": payload.reportId, "budget": budget, "approval": approval}',
              tot: 'jsonata',
            },
          ],
          wires: [['test-report']],
        },
        {
          id: 'test-report',
          type: 'http request',
          z: 'exp-tab',
          x: 1300,
          y: 900,
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

    it('posts every report exactly once in the ERP and writes its document number back', async () => {
      const webhook = `${nodeRed.url}/finance/expenses`;
      const valid = Array.from({ length: VALID }, (_, i) =>
        sampleEvent({ profile: 'cloudevents', scheme: 'generic', seed: 3000 + i, secret: DEMO_WEBHOOK_SECRET }),
      );
      const sent = await inBatches([...valid, ...valid.slice(0, DUPLICATES)], 10, (event) =>
        post(webhook, event.headers, event.rawBody),
      );
      expect(sent.slice(0, VALID).map((answer) => answer.status)).toEqual(Array(VALID).fill(202));
      expect(sent.slice(VALID).map((answer) => answer.status)).toEqual(Array(DUPLICATES).fill(200));

      const decisions = `${nodeRed.url}/finance/approvals/decisions`;
      const state = await waitFor(
        'every report to be posted and written back',
        async () => {
          const pending = (await (
            await fetch(`${nodeRed.url}/finance-approval/exp-approval/pending?limit=1000`)
          ).json()) as {
            items: Array<{ reportId: string; approver: string }>;
          };
          await inBatches(pending.items, 10, async (item) => {
            const answer = await post(
              decisions,
              { 'content-type': 'application/json' },
              JSON.stringify({ decision: 'approve', approver: item.approver, reportId: item.reportId }),
            );
            expect(answer.status).toBe(200);
          });
          const current = (await (await fetch(`${sandbox.url}/_sandbox/state`)).json()) as Record<string, any>;
          return current.writebacks.length >= VALID && pending.items.length === 0 ? current : undefined;
        },
        { timeoutMs: Number(process.env.E2E_DIALECT_TIMEOUT_MS ?? 240_000), intervalMs: 500 },
      ).catch((error: unknown) => {
        // What Node-RED said is the fastest way to see why a connection did not work.
        console.log(nodeRed.output().split('\n').slice(-40).join('\n'));
        return fetch(`${sandbox.url}/_sandbox/state`)
          .then((response) => response.json())
          .then((current: Record<string, any>) => {
            console.log(
              JSON.stringify({
                writebacks: current.writebacks.length,
                counters: current.counters,
                bc: current.businessCentral?.counters,
                erpnext: current.erpnext?.counters,
              }),
            );
            return fetch(`${nodeRed.url}/finance-dead-letter/exp-dead-letter/letters`)
              .then((r) => r.text())
              .then((t) => console.log(t.slice(0, 3000)));
          })
          .then(() => {
            throw error;
          });
      });

      const posted = dialect.posted(state);
      const writebacks = new Map(
        (state.writebacks as Writeback[]).map((writeback) => [writeback.documentId, writeback]),
      );
      expect(state.writebacks).toHaveLength(VALID);
      // Nothing was posted through the sandbox's own API: the connection really spoke the vendor's.
      expect(state.postings).toEqual([]);
      for (const event of valid) {
        const reference = `${SOURCE_SYSTEM}:${event.expected.reportId}`;
        const key = dialect.referenceKey
          ? dialect.referenceKey(reference)
          : dialect.name === 'business-central'
            ? fitReference(reference, 20)
            : reference;
        const documents = [...new Set(posted.get(key) ?? [])];
        expect({ reportId: event.expected.reportId, documents: documents.length }).toEqual({
          reportId: event.expected.reportId,
          documents: 1,
        });
        const writeback = writebacks.get(event.expected.reportId);
        expect(writeback).toMatchObject({
          status: 'posted',
          erpRef: { number: documents[0], dialect: dialect.erpDialect ?? dialect.name },
        });
      }

      await waitFor('every approval to be observed', async () => (collector.seen.length >= VALID ? true : undefined));
      const overBudget = collector.seen.filter((seen) => seen.budget?.status === 'exceeded');
      if (dialect.budgetCheckedAtWrite) {
        // No funds check call: nothing was checked before, and nothing pretends it was.
        expect(new Set(collector.seen.map((seen) => seen.budget?.status))).toEqual(new Set(['deferred']));
      } else expect(overBudget.length).toBeGreaterThan(0);
      for (const seen of overBudget) {
        expect({
          reportId: seen.reportId,
          controllerDecided: seen.approval.chain.some((stage) => stage.decidedBy === 'E1003'),
        }).toEqual({
          reportId: seen.reportId,
          controllerDecided: true,
        });
      }
      console.log(
        `expense e2e (${dialect.name}): ${VALID} reports posted once, ${overBudget.length} over budget via the controller`,
      );
    }, 300_000);
  },
);
