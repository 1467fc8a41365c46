import * as fs from 'node:fs';
import * as path from 'node:path';
import { ErpClient } from '../../lib/erp/client';
import { createDialect } from '../../lib/erp/dialect';
import { sum } from '../../lib/model/money';
import { LedgerWriter } from '../../lib/posting/idempotent-write';
import { KeyedQueue } from '../../lib/purchasing/keyed-queue';
import { syncPurchaseOrder } from '../../lib/purchasing/sync';
import { VersionBook } from '../../lib/purchasing/versions';
import { startSandbox, type SandboxHandle } from '../../lib/sandbox/server';
import type { FinanceStoreNode } from '../../nodes/shared/config-nodes';
import { coreNodes, helper, tempDir } from '../support/node-red';
import { eur, expenseLine, expenseReport, orderLine, requisition } from '../unit/budget/documents';
import financeErp = require('../../nodes/finance-erp/finance-erp');
import financeBudgetCheck = require('../../nodes/finance-budget-check/finance-budget-check');
import financeStore = require('../../nodes/finance-store/finance-store');

type Msg = Record<string, any>;
type Red = Parameters<typeof financeBudgetCheck>[0];

const LOCALE = JSON.parse(
  fs.readFileSync(
    path.join(__dirname, '../../nodes/finance-budget-check/locales/en-US/finance-budget-check.json'),
    'utf8',
  ),
) as Msg;

/** The test helper's RED._ returns the key; this one answers from the node's catalogue as Node-RED does. */
function translate(key: string): string {
  const text = key.split('.').reduce<unknown>((entry, part) => (entry as Msg | undefined)?.[part], LOCALE);
  return typeof text === 'string' ? text : key;
}

function financeBudgetCheckInEnglish(RED: Red): void {
  (RED as { _: unknown })._ = translate;
  financeBudgetCheck(RED);
}

const nodes = [financeErp, financeStore, financeBudgetCheckInEnglish, coreNodes.catch];

/** The sandbox's budgets are for the year of its clock: March 2026 it is. */
const SANDBOX_NOW = new Date('2026-03-15T12:00:00Z');

describe('finance-budget-check node against the sandbox ERP', () => {
  let sandbox: SandboxHandle;
  const temp = tempDir('budget-check-node');
  let storeCount = 0;

  function flow(check: Msg = {}, erp: Msg = {}): Msg[] {
    return [
      { id: 'tab', type: 'tab' },
      {
        id: 'erp',
        type: 'finance-erp',
        z: 'tab',
        dialect: 'sandbox',
        baseUrl: sandbox.url,
        company: 'FS-DEMO',
        ...erp,
      },
      {
        id: 'check',
        type: 'finance-budget-check',
        z: 'tab',
        erp: 'erp',
        warningPercent: 90,
        noBudget: 'exceeded',
        periodFrom: 'line',
        wires: [['withinOut'], ['exceededOut'], ['warningOut']],
        ...check,
      },
      { id: 'store', type: 'finance-store', path: `${temp.dir}/store-${++storeCount}` },
      { id: 'withinOut', type: 'helper', z: 'tab' },
      { id: 'exceededOut', type: 'helper', z: 'tab' },
      { id: 'warningOut', type: 'helper', z: 'tab' },
      // Not id 'catch': Node-RED would read the type 'catch' as a reference to a config node of that id.
      { id: 'catcher', type: 'catch', z: 'tab', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'caught', type: 'helper', z: 'tab' },
    ];
  }

  /** The next message on any output or the Catch node; listeners are removed together (see finance-map.test.ts). */
  function nextOutput(): Promise<{ on: string; msg: Msg }> {
    return new Promise((resolve) => {
      const listeners = ['withinOut', 'exceededOut', 'warningOut', 'caught'].map((id) => {
        const node = helper.getNode(id);
        const listener = (msg: Msg) => {
          for (const [each, added] of listeners) each.removeListener('input', added);
          resolve({ on: id, msg });
        };
        node.on('input', listener);
        return [node, listener] as const;
      });
    });
  }

  async function send(payload: unknown, finance: Msg = { correlationId: 'corr-budget-1' }) {
    const output = nextOutput();
    helper.getNode('check').receive({ payload, finance });
    return output;
  }

  function statuses(): Msg[] {
    const seen: Msg[] = [];
    helper.getNode('check').on('call:status', (call: { args: [Msg] }) => seen.push(call.args[0]));
    return seen;
  }

  const settle = () => new Promise((resolve) => setImmediate(resolve));

  const post = (route: string, body: unknown) =>
    fetch(`${sandbox.url}${route}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });

  /** A team dinner on CC-300 / 6010 (meals), whose budget is 300.00 a month. */
  const dinner = (...amounts: string[]) =>
    expenseReport(
      amounts.map((amount, index) => expenseLine(`L${index + 1}`, amount, { costCenter: 'CC-300', glAccount: '6010' })),
      sum(amounts.map(eur), 'EUR').amount,
    );

  beforeAll(async () => {
    sandbox = await startSandbox({ port: 0, now: () => SANDBOX_NOW });
  });
  beforeEach(async () => {
    await post('/_sandbox/reset', {});
  });
  afterEach(async () => {
    await helper.unload();
  });
  afterAll(async () => {
    await sandbox.close();
    temp.remove();
  });

  it('sends a report that fits to "within" with msg.budget, leaving the payload as it was', async () => {
    await helper.load(nodes, flow());
    const seen = statuses();
    const report = dinner('120.00');
    const { on, msg } = await send(report);
    expect(on).toBe('withinOut');
    expect(msg.payload).toEqual(dinner('120.00'));
    expect(msg.budget).toEqual({
      status: 'within',
      key: 'costCenter=CC-300,glAccount=6010@2026-03',
      requested: eur('120.00'),
      available: eur('300.00'),
      budget: eur('300.00'),
      currency: 'EUR',
      period: '2026-03',
      checkedAt: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
      erpMessages: [],
      checks: [
        {
          key: 'costCenter=CC-300,glAccount=6010@2026-03',
          dimensions: { costCenter: 'CC-300', glAccount: '6010' },
          period: '2026-03',
          requested: eur('120.00'),
          available: eur('300.00'),
          budget: eur('300.00'),
          status: 'within',
          lineIds: ['L1'],
        },
      ],
    });
    await settle();
    expect(seen[0]).toEqual({ fill: 'blue', shape: 'dot', text: 'checking' });
    expect(seen.at(-1)).toEqual({ fill: 'green', shape: 'dot', text: 'within' });
  });

  it('adds up lines on the same budget: 150.00 + 120.00 is exactly 90 % of 300.00, a warning', async () => {
    await helper.load(nodes, flow());
    const seen = statuses();
    const { on, msg } = await send(dinner('150.00', '120.00'));
    expect(on).toBe('warningOut');
    expect(msg.budget.checks).toEqual([
      expect.objectContaining({ requested: eur('270.00'), status: 'warning', lineIds: ['L1', 'L2'] }),
    ]);
    await settle();
    expect(seen.at(-1)).toEqual({ fill: 'yellow', shape: 'dot', text: 'warning' });
  });

  it.each([
    ['269.99', 'withinOut'],
    ['300.00', 'warningOut'],
    ['300.01', 'exceededOut'],
  ])('judges %s of the 300.00 meals budget to the cent (%s)', async (amount, output) => {
    await helper.load(nodes, flow());
    const { on, msg } = await send(dinner(amount));
    expect(on).toBe(output);
    expect(msg.budget.requested).toEqual(eur(amount));
  });

  it('counts what the ERP has already committed: an open purchase order leaves less room', async () => {
    const order = {
      externalReference: 'PO-TEST-1',
      supplierId: 'SUP-1001',
      orderDate: '2026-03-02',
      currency: 'EUR',
      lines: [
        {
          lineId: '1',
          description: 'Printer paper',
          quantity: '100',
          unitPrice: eur('14.00'),
          amount: eur('1400.00'),
          accountAssignments: [{ dimensions: { costCenter: 'CC-500', glAccount: '6100' } }],
        },
      ],
    };
    expect((await post('/api/v1/companies/FS-DEMO/purchaseOrders', order)).status).toBe(201);
    await helper.load(nodes, flow());

    // A requisition has no date of its own: its need-by date sets the period (the node runs on the real clock).
    const toner = (amount: string) =>
      requisition(
        [
          orderLine(
            '1',
            '1',
            amount,
            amount,
            [{ dimensions: { costCenter: 'CC-500', glAccount: '6100' }, percent: '100' }],
            '2026-03-25',
          ),
        ],
        amount,
      );
    const fits = await send(toner('100.00'));
    expect(fits.on).toBe('warningOut');
    expect(fits.msg.budget).toMatchObject({ available: eur('100.00'), budget: eur('1500.00'), period: '2026-03' });
    const tooMuch = await send(toner('100.01'));
    expect(tooMuch.on).toBe('exceededOut');
  });

  describe('a revision whose purchase order the ERP counts already (finding 5: netting is the default)', () => {
    /** The open PO finance-purchase-order made of version 1 of requisition REQ-9: 1,400.00 on CC-500/6100. */
    const orderVersion1 = () =>
      post('/api/v1/companies/FS-DEMO/purchaseOrders', {
        externalReference: 'coupa:REQ-9',
        supplierId: 'SUP-1001',
        orderDate: '2026-03-02',
        currency: 'EUR',
        lines: [
          {
            lineId: '1',
            description: 'Item 1',
            quantity: '1',
            unitPrice: eur('1400.00'),
            amount: eur('1400.00'),
            accountAssignments: [{ dimensions: { costCenter: 'CC-500', glAccount: '6100' }, percent: '100' }],
          },
        ],
      });
    /** Version 2 of REQ-9: 1,450.00, 50.00 more on a budget of 1,500.00 that the PO leaves 100.00 of. */
    const version2 = () => ({
      ...requisition(
        [
          orderLine(
            '1',
            '1',
            '1450.00',
            '1450.00',
            [{ dimensions: { costCenter: 'CC-500', glAccount: '6100' }, percent: '100' }],
            '2026-03-25',
          ),
        ],
        '1450.00',
      ),
      sourceRef: { system: 'coupa', id: 'REQ-9', version: 2 },
    });

    it('checks only the change, without any setting, and says so', async () => {
      expect((await orderVersion1()).status).toBe(201);
      await helper.load(nodes, flow());
      const { on, msg } = await send(version2());
      expect(on).toBe('warningOut');
      expect(msg.budget).toMatchObject({
        status: 'warning',
        key: 'costCenter=CC-500,glAccount=6100@2026-03',
        requested: eur('50.00'),
        available: eur('100.00'),
        erpMessages: [expect.objectContaining({ code: 'COMMITMENT_NETTED' })],
      });
    });

    it('nets for a node saved with the old setting off (its default), upgraded on deploy', async () => {
      expect((await orderVersion1()).status).toBe(201);
      await helper.load(nodes, flow({ netOfCommitment: false }));
      const { on, msg } = await send(version2());
      expect(on).toBe('warningOut');
      expect(msg.budget.requested).toEqual(eur('50.00'));
    });

    it("on Business Central without its reference API page, finds the PO through the store's record of it", async () => {
      const bc = {
        dialect: 'business-central',
        bcTenant: 'contoso.onmicrosoft.com',
        bcEnvironment: 'Production',
        bcReferenceApi: '',
      };
      await helper.load(nodes, flow({ store: 'store' }, bc));
      // What finance-purchase-order does with version 1 (5,000.00 on CC-100/6300) in the same store.
      const config = { name: 'bc', dialect: 'business-central', baseUrl: sandbox.url, company: 'FS-DEMO' };
      const client = new ErpClient({ ...config, auth: { type: 'none' }, circuitBreaker: null });
      const options = { tenant: 'contoso.onmicrosoft.com', environment: 'Production' };
      const dialect = createDialect('business-central', client, { ...config, options });
      const store = (helper.getNode('store') as unknown as FinanceStoreNode).store();
      const bcOrder = (version: number, amount: string) => ({
        ...requisition(
          [
            orderLine('1', '1', amount, amount, [
              { dimensions: { costCenter: 'CC-100', glAccount: '6300' }, percent: '100' },
            ]),
          ],
          amount,
        ),
        sourceRef: { system: 'coupa', id: 'REQ-BC', version },
      });
      const applied = await syncPurchaseOrder(
        {
          dialect,
          writer: new LedgerWriter(store, { ownerPrefix: 'test' }),
          versions: new VersionBook(store),
          queue: new KeyedQueue(),
        },
        { document: bcOrder(1, '5000.00'), correlationId: 'c', now: SANDBOX_NOW },
      );
      client.close();
      expect(applied.outcome).toBe('synced');

      const { msg } = await send(bcOrder(2, '5500.00'));
      expect(msg.budget).toMatchObject({
        key: 'costCenter=CC-100,glAccount=6300@2026-03',
        requested: eur('500.00'),
        erpMessages: [expect.objectContaining({ code: 'COMMITMENT_NETTED' })],
      });
    });

    it('checks the whole amount when switched off', async () => {
      expect((await orderVersion1()).status).toBe(201);
      await helper.load(nodes, flow({ netOwnCommitment: false }));
      const { on, msg } = await send(version2());
      expect(on).toBe('exceededOut');
      expect(msg.budget).toMatchObject({ requested: eur('1450.00'), available: eur('100.00'), erpMessages: [] });
    });
  });

  it('checks percent splits and project lines against each budget they touch', async () => {
    await helper.load(nodes, flow());
    const order = requisition(
      [
        orderLine(
          '1',
          '3',
          '333.33',
          '999.99',
          [
            { dimensions: { costCenter: 'CC-400', glAccount: '6200' }, percent: '33.33' },
            { dimensions: { costCenter: 'CC-400', glAccount: '6210', project: 'PRJ-2001' }, percent: '33.33' },
            { dimensions: { costCenter: 'CC-500', glAccount: '6100' }, percent: '33.34' },
          ],
          '2026-03-31',
        ),
      ],
      '999.99',
    );
    const { on, msg } = await send(order);
    expect(on).toBe('withinOut');
    // The top level is the deciding budget's: the one with the least money left afterwards.
    expect(msg.budget).toMatchObject({
      key: 'costCenter=CC-500,glAccount=6100@2026-03',
      requested: eur('333.39'),
      budget: eur('1500.00'),
    });
    expect(msg.budget.checks.map((check: Msg) => [check.key, check.requested.amount, check.budget.amount])).toEqual([
      ['costCenter=CC-400,glAccount=6200@2026-03', '333.30', '5000.00'],
      ['project=PRJ-2001@2026-03', '333.30', '20000.00'],
      ['costCenter=CC-400,glAccount=6210@2026-03', '333.30', '9000.00'],
      ['costCenter=CC-500,glAccount=6100@2026-03', '333.39', '1500.00'],
    ]);
  });

  it('treats a budget the ERP does not have as configured: exceeded by default, or within', async () => {
    const software = expenseReport([expenseLine('L1', '12.00', { costCenter: 'CC-300', glAccount: '6200' })], '12.00');
    await helper.load(nodes, flow());
    const strict = await send(software);
    expect(strict.on).toBe('exceededOut');
    expect(strict.msg.budget).not.toHaveProperty('available');
    expect(strict.msg.budget).toMatchObject({
      status: 'exceeded',
      key: 'costCenter=CC-300,glAccount=6200@2026-03',
      erpMessages: [
        { code: 'NO_BUDGET', severity: 'error', text: expect.stringContaining('costCenter CC-300, glAccount 6200') },
      ],
    });
    await helper.unload();

    await helper.load(nodes, flow({ noBudget: 'within' }));
    const lenient = await send(software);
    expect(lenient.on).toBe('withinOut');
    expect(lenient.msg.budget.erpMessages).toEqual([expect.objectContaining({ code: 'NO_BUDGET', severity: 'info' })]);
  });

  it('without a store, reports an ERP that answers 503 to a Catch node at once as ERP_UNAVAILABLE, sending nothing', async () => {
    expect((await post('/_sandbox/faults', { errorRate: 1, errorStatus: 503 })).status).toBe(200);
    await helper.load(nodes, flow());
    const seen = statuses();
    const { on, msg } = await send(dinner('10.00'));
    expect(on).toBe('caught');
    expect(msg.error).toMatchObject({
      code: 'ERP_UNAVAILABLE',
      message: expect.stringContaining('answered 503'),
      source: { id: 'check', type: 'finance-budget-check' },
    });
    expect(msg.budget).toBeUndefined();
    await settle();
    expect(seen.at(-1)).toEqual({ fill: 'red', shape: 'ring', text: 'ERP_UNAVAILABLE' });
  });

  describe('with a store: the connection retry policy, no retry wiring', () => {
    const quickRetries = { retryInitialSeconds: '0.05', retryMaximumSeconds: '0.2' };
    const parkedRetries = () => (helper.getNode('store') as unknown as FinanceStoreNode).store().kvList('retry:check');

    it('parks a check the ERP answered 503, retries it and sends it once when the ERP is back', async () => {
      await post('/_sandbox/faults', { errorRate: 1, errorStatus: 503 });
      await helper.load(nodes, flow({ store: 'store' }, quickRetries));
      const seen = statuses();
      const output = nextOutput();
      helper.getNode('check').receive({ payload: dinner('10.00'), finance: { correlationId: 'corr-retry' } });
      await waitUntil(() => seen.some((status) => /^retry 2 in/.test(status.text)));
      expect(await parkedRetries()).toHaveLength(1);

      await post('/_sandbox/faults', {});
      const { on, msg } = await output;
      expect(on).toBe('withinOut');
      expect(msg.budget.status).toBe('within');
      expect(msg.finance.attempt).toBeGreaterThanOrEqual(2);
      await waitUntilAsync(async () => (await parkedRetries()).length === 0);
    });

    it('reports the failure after the last attempt, with msg.finance.attempt and msg.failure', async () => {
      await post('/_sandbox/faults', { errorRate: 1, errorStatus: 503 });
      await helper.load(nodes, flow({ store: 'store' }, { ...quickRetries, retryMaximumAttempts: '2' }));
      const { on, msg } = await send(dinner('10.00'));
      expect(on).toBe('caught');
      expect(msg.error.code).toBe('ERP_UNAVAILABLE');
      expect(msg.finance.attempt).toBe(2);
      expect(msg.failure).toMatchObject({
        code: 'ERP_UNAVAILABLE',
        httpStatus: 503,
        details: { erpBody: expect.objectContaining({ code: 'INJECTED_FAULT' }) },
      });
    });

    it('does not retry what retrying cannot fix: an unknown dimension reaches Catch at once', async () => {
      await helper.load(nodes, flow({ store: 'store' }, quickRetries));
      const { on, msg } = await send(
        expenseReport([expenseLine('L1', '5.00', { costCenter: 'CC-999', glAccount: '6010' })], '5.00'),
      );
      expect(on).toBe('caught');
      expect(msg.error.code).toBe('ERP_REJECTED');
      expect(msg.finance.attempt).toBe(1);
      expect(msg.failure).toMatchObject({ code: 'ERP_REJECTED', httpStatus: 422 });
      expect(await parkedRetries()).toHaveLength(0);
    });

    it('shows "circuit open" while the connection breaker pauses calls', async () => {
      await post('/_sandbox/faults', { errorRate: 1, errorStatus: 503 });
      await helper.load(nodes, flow({}, { circuitMinimumCalls: '2', circuitOpenSeconds: '60' }));
      const seen = statuses();
      for (let i = 0; i < 2; i++) expect((await send(dinner('10.00'))).msg.error.code).toBe('ERP_UNAVAILABLE');
      expect((await send(dinner('10.00'))).msg.error.code).toBe('CIRCUIT_OPEN');
      expect(seen).toContainEqual({ fill: 'yellow', shape: 'ring', text: 'circuit open' });
    });

    it('names a store that was deleted instead of silently not retrying', async () => {
      await helper.load(nodes, flow({ store: 'gone' }));
      const { on, msg } = await send(dinner('1.00'));
      expect(on).toBe('caught');
      expect(msg.error).toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringContaining('store') });
    });
  });

  it('reports a throttling ERP as ERP_RATE_LIMITED', async () => {
    await post('/_sandbox/faults', { errorRate: 1, errorStatus: 429, retryAfterSeconds: 7 });
    await helper.load(nodes, flow());
    const { on, msg } = await send(dinner('10.00'));
    expect(on).toBe('caught');
    expect(msg.error.code).toBe('ERP_RATE_LIMITED');
  });

  it('reports a dimension the ERP does not know as ERP_REJECTED', async () => {
    await helper.load(nodes, flow());
    const { on, msg } = await send(
      expenseReport([expenseLine('L1', '5.00', { costCenter: 'CC-999', glAccount: '6010' })], '5.00'),
    );
    expect(on).toBe('caught');
    expect(msg.error).toMatchObject({ code: 'ERP_REJECTED', message: expect.stringContaining('422') });
  });

  it.each([
    ['a payload that is not a document', { reportId: 'ER-1' }, 'is not a canonical ExpenseReport'],
    [
      'a report whose total is not the sum of its lines',
      expenseReport([expenseLine('L1', '5.00', { costCenter: 'CC-300', glAccount: '6010' })], '5.01'),
      'ExpenseReport is not valid: /total/amount is 5.01 but the lines add up to 5.00',
    ],
    [
      'a line charged to neither a cost center nor a project',
      expenseReport([expenseLine('L1', '5.00', { glAccount: '6010' })], '5.00'),
      'Line "L1" is charged to neither a cost center nor a project',
    ],
  ])('refuses %s with SCHEMA_INVALID', async (_case, payload, message) => {
    await helper.load(nodes, flow());
    const { on, msg } = await send(payload);
    expect(on).toBe('caught');
    expect(msg.error).toMatchObject({ code: 'SCHEMA_INVALID', message: expect.stringContaining(message) });
  });

  describe('reserve what passes until the ERP write', () => {
    /** A dinner of `amount` on the 300.00 meals budget, from its own report `id`. */
    const dinnerOf = (id: string, amount: string) => ({
      ...dinner(amount),
      sourceRef: { system: 'acme', id },
      reportId: id,
    });

    /** Sends every payload at once and answers the outputs in arrival order. */
    function sendTogether(payloads: unknown[]): Promise<Array<{ on: string; msg: Msg }>> {
      return new Promise((resolve) => {
        const arrived: Array<{ on: string; msg: Msg }> = [];
        for (const id of ['withinOut', 'exceededOut', 'warningOut', 'caught']) {
          helper.getNode(id).on('input', (msg: Msg) => {
            arrived.push({ on: id, msg });
            if (arrived.length === payloads.length) resolve(arrived);
          });
        }
        payloads.forEach((payload, index) =>
          helper.getNode('check').receive({ payload, finance: { correlationId: `corr-reserve-${index}` } }),
        );
      });
    }

    it('lets only one of two reports checked at the same time pass when together they exceed the budget', async () => {
      await helper.load(nodes, flow({ store: 'store', reserveFunds: true, reserveHoldHours: '2' }));
      const [first, second] = await sendTogether([dinnerOf('ER-A', '200.00'), dinnerOf('ER-B', '200.00')]);

      expect(first.on).toBe('withinOut');
      expect(first.msg.budget).toMatchObject({ available: eur('300.00'), reservedByOthers: eur('0.00') });
      expect(first.msg.budget.erpMessages).toEqual([
        expect.objectContaining({ code: 'FUNDS_RESERVED', text: expect.stringContaining('at most 2 h') }),
      ]);
      expect(second.on).toBe('exceededOut');
      expect(second.msg.budget).toMatchObject({
        status: 'exceeded',
        requested: eur('200.00'),
        available: eur('100.00'),
        reservedByOthers: eur('200.00'),
      });
      const store = (helper.getNode('store') as unknown as FinanceStoreNode).store();
      expect(await store.kvList('budget-reservations')).toHaveLength(1);
    });

    it('reserves nothing in a node saved before the option existed: both reports pass, as before', async () => {
      await helper.load(nodes, flow({ store: 'store' }));
      const outcomes = await sendTogether([dinnerOf('ER-A', '200.00'), dinnerOf('ER-B', '200.00')]);

      expect(outcomes.map((outcome) => outcome.on)).toEqual(['withinOut', 'withinOut']);
      expect(outcomes[1].msg.budget.reservedByOthers).toBeUndefined();
    });

    it('fails every message with CONFIG_INVALID when it should reserve without a store', async () => {
      await helper.load(nodes, flow({ reserveFunds: true }));
      const { on, msg } = await send(dinner('1.00'));
      expect(on).toBe('caught');
      expect(msg.error).toMatchObject({
        code: 'CONFIG_INVALID',
        message: expect.stringContaining('"Reserve what passes" keeps its reservations in a store'),
      });
    });
  });

  it.each([
    [{ erp: '' }, 'No ERP connection is selected'],
    [{ warningPercent: 120 }, 'Warning threshold (%) must be a whole number from 1 to 100'],
    [{ noBudget: 'ignore' }, 'Without a budget is "ignore"'],
  ])('fails every message with CONFIG_INVALID for the setting %p', async (settings, message) => {
    await helper.load(nodes, flow(settings));
    const { on, msg } = await send(dinner('1.00'));
    expect(on).toBe('caught');
    expect(msg.error).toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringContaining(message) });
  });
});

async function waitUntil(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
}

async function waitUntilAsync(condition: () => Promise<boolean>): Promise<void> {
  while (!(await condition())) await new Promise((resolve) => setTimeout(resolve, 20));
}
