import * as fs from 'node:fs';
import * as path from 'node:path';
import { inboxKey } from '../../lib/reliability/store';
import type { FinanceStoreNode } from '../../nodes/shared/config-nodes';
import { STATUS_RATE } from '../../nodes/shared/status';
import { coreNodes, helper, tempDir } from '../support/node-red';
import {
  canonicalReport,
  cloudEvent,
  CONCUR_OPTIONS,
  concurSampleEntries,
  concurSampleReport,
} from '../unit/mapping/samples';
import financeMap = require('../../nodes/finance-map/finance-map');
import financeStore = require('../../nodes/finance-store/finance-store');

type Msg = Record<string, any>;
type Red = Parameters<typeof financeMap>[0];

const LOCALE = JSON.parse(
  fs.readFileSync(path.join(__dirname, '../../nodes/finance-map/locales/en-US/finance-map.json'), 'utf8'),
) as Msg;

/**
 * The test helper's RED._ returns the key; this one answers from the node's own message catalogue as Node-RED
 * does, so the tests see the status texts users see (and a missing key shows up as the key).
 */
function translate(key: string, substitutions: Record<string, unknown> = {}): string {
  const text = key.split('.').reduce<unknown>((entry, part) => (entry as Msg | undefined)?.[part], LOCALE);
  return typeof text === 'string' ? text.replace(/__(\w+)__/g, (_, name: string) => String(substitutions[name])) : key;
}

/** Counts JSONata compilations: the node must compile its expression once per deploy, never per message. */
const prepareSpy = jest.fn();

function financeMapWithSpies(RED: Red): void {
  const prepare = RED.util.prepareJSONataExpression;
  prepareSpy.mockImplementation((...args: Parameters<typeof prepare>) => prepare(...args));
  RED.util = { ...RED.util, prepareJSONataExpression: prepareSpy };
  (RED as { _: unknown })._ = translate;
  financeMap(RED);
}

const nodes = [financeStore, financeMapWithSpies, coreNodes.catch];

/** A Concur-like export of a custom expense tool, mapped by JSONata (amounts as decimal strings). */
const CUSTOM_EXPRESSION = `{
  "docType": "ExpenseReport",
  "sourceRef": { "system": "acme-expenses", "id": payload.ref },
  "reportId": payload.ref,
  "employeeId": payload.employee.erpId,
  "company": "FS-DEMO",
  "state": payload.status,
  "total": { "amount": $formatNumber($sum(payload.items.cost), "0.00"), "currency": payload.currency },
  "lines": [payload.items.{
    "lineId": id,
    "date": day,
    "amount": { "amount": $formatNumber(cost, "0.00"), "currency": $$.payload.currency },
    "dimensions": { "costCenter": cc, "glAccount": gl }
  }]
}`;

function customExport(): Msg {
  return {
    ref: 'EXP-77',
    employee: { erpId: 'E1015' },
    status: 'A_PEND',
    currency: 'EUR',
    items: [
      { id: '1', day: '2026-03-03', cost: 42.5, cc: 'CC-300', gl: '6010' },
      { id: '2', day: '2026-03-04', cost: 17.25, cc: 'CC-300', gl: '6000' },
    ],
  };
}

function envelope(overrides: Msg = {}): Msg {
  return {
    id: 'evt-ER-1001-1',
    source: 'urn:acme:expenses',
    type: 'com.acme.expense-report.submitted',
    time: '2026-03-20T09:00:01Z',
    correlationId: 'corr-map-1',
    attempt: 1,
    ...overrides,
  };
}

describe('finance-map node', () => {
  const temp = tempDir('map-node');
  let storeCount = 0;

  function flow(map: Msg = {}, withStore = false): Msg[] {
    storeCount += 1;
    return [
      { id: 'tab', type: 'tab' },
      ...(withStore
        ? [{ id: 'store', type: 'finance-store', z: 'tab', path: path.join(temp.dir, `store-${storeCount}`) }]
        : []),
      {
        id: 'map',
        type: 'finance-map',
        z: 'tab',
        mapping: 'cloudevents',
        docType: 'ExpenseReport',
        ...(withStore ? { store: 'store' } : {}),
        wires: [['valid'], ['invalid']],
        ...map,
      },
      { id: 'valid', type: 'helper', z: 'tab' },
      { id: 'invalid', type: 'helper', z: 'tab' },
      // Not id 'catch': Node-RED would read the type 'catch' as a reference to a config node of that id.
      { id: 'catcher', type: 'catch', z: 'tab', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'caught', type: 'helper', z: 'tab' },
    ];
  }

  /**
   * The next message that reaches a helper. The listeners are removed once one fires: Node-RED keeps input
   * listeners in a list that a `once` listener removing itself would shift, skipping the next listener.
   */
  function nextOutput(): Promise<{ on: string; msg: Msg }> {
    return new Promise((resolve) => {
      const listeners = ['valid', 'invalid', 'caught'].map((id) => {
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

  async function send(msg: Msg): Promise<{ on: string; msg: Msg }> {
    const output = nextOutput();
    helper.getNode('map').receive(msg);
    return output;
  }

  /** The node's status calls, in order. */
  function statuses(): Msg[] {
    const seen: Msg[] = [];
    helper.getNode('map').on('call:status', (call: { args: [Msg] }) => seen.push(call.args[0]));
    return seen;
  }

  /** Status calls are reported on the next tick; let them arrive. */
  const settle = () => new Promise((resolve) => setImmediate(resolve));

  beforeEach(() => prepareSpy.mockReset());
  afterEach(async () => {
    await helper.unload();
  });
  afterAll(() => temp.remove());

  it('sends a CloudEvent as its canonical document on output 1, with docType and docId in msg.finance', async () => {
    await helper.load(nodes, flow());
    const seen = statuses();
    const { on, msg } = await send({ payload: cloudEvent(), finance: envelope() });
    expect(on).toBe('valid');
    expect(msg.payload).toEqual(canonicalReport());
    expect(msg.finance).toEqual({ ...envelope(), docType: 'ExpenseReport', docId: 'ER-1001' });
    await settle();
    expect(seen[0]).toEqual({ fill: 'blue', shape: 'dot', text: 'mapping' });
    expect(seen.at(-1)).toEqual({ fill: 'green', shape: 'dot', text: 'valid' });
  });

  it('shows a stream of messages at the status rate an open editor can follow, ending on the latest outcome', async () => {
    await helper.load(nodes, flow());
    const seen = statuses();
    const startedAt = Date.now();
    for (let i = 0; i < 300; i += 1) {
      const { on } = await send({ payload: cloudEvent(), finance: envelope() });
      expect(on).toBe('valid');
    }
    const { on } = await send({ payload: { ...cloudEvent(), data: 'not a report' }, finance: envelope() });
    expect(on).toBe('invalid');
    const seconds = (Date.now() - startedAt) / 1000;
    await settle();
    // 600 changes (busy, then the outcome, per message) without the rate limit.
    expect(seen.length).toBeLessThanOrEqual(STATUS_RATE.burst + Math.ceil(seconds * STATUS_RATE.perSecond) + 1);
    await new Promise((resolve) => setTimeout(resolve, 1000 / STATUS_RATE.perSecond + 50));
    expect(seen.at(-1)).toMatchObject({ fill: 'yellow', shape: 'dot' });
  });

  it('sends an invalid document on output 2 with every violation, the payload untouched, and closes its inbox entry', async () => {
    await helper.load(nodes, flow({}, true));
    const store = (helper.getNode('store') as FinanceStoreNode).store();
    const key = inboxKey('urn:acme:expenses', 'evt-ER-1001-1');
    await store.accept({ key, envelope: envelope(), payload: {} });
    const seen = statuses();

    const report = canonicalReport();
    report.lines[0].amount = { amount: 150, currency: 'EUR' };
    report.lines[1].date = '12.03.2026';
    delete report.employeeId;
    const payload = cloudEvent(report);
    const { on, msg } = await send({ payload, finance: envelope(), errors: ['stale'] });

    expect(on).toBe('invalid');
    expect(msg.payload).toEqual(cloudEvent(report));
    expect(msg.errors.map((error: Msg) => `${error.path} ${error.rule}`).sort()).toEqual([
      '/employeeId required',
      '/lines/0/amount/amount type',
      '/lines/1/date format',
    ]);
    expect(msg.errors.every((error: Msg) => typeof error.message === 'string' && error.message.length > 20)).toBe(true);
    const entry = await store.get(key);
    expect(entry).toMatchObject({ state: 'final', outcome: { status: 'invalid', detail: { errors: msg.errors } } });
    await settle();
    expect(seen.at(-1)).toEqual({ fill: 'yellow', shape: 'dot', text: 'invalid (3)' });
  });

  it('sends an invalid document without an envelope on output 2 and leaves the store alone', async () => {
    await helper.load(nodes, flow({}, true));
    const report = canonicalReport();
    report.state = 'in review';
    const { on, msg } = await send({ payload: report });
    expect(on).toBe('invalid');
    expect(msg.errors).toEqual([expect.objectContaining({ path: '/state', rule: 'enum' })]);
    expect(await (helper.getNode('store') as FinanceStoreNode).store().countOpen()).toBe(0);
  });

  it('maps the Concur v4 report sample with its expenses inside the payload', async () => {
    await helper.load(nodes, flow({ mapping: 'concur', profileOptions: JSON.stringify(CONCUR_OPTIONS) }));
    const payload = { ...concurSampleReport(), expenses: concurSampleEntries() };
    const { on, msg } = await send({
      payload,
      finance: envelope({ source: 'concur:685fa226', id: 'evt-concur-1', type: 'concur.expense.report.statusChanged' }),
    });
    expect(on).toBe('valid');
    expect(msg.payload).toMatchObject({
      docType: 'ExpenseReport',
      reportId: '764428DD6A664AF0BFCB',
      state: 'draft',
      total: { amount: '525.00', currency: 'USD' },
      lines: [{ dimensions: { costCenter: 'CC-500', glAccount: '6100' } }, { dimensions: { costCenter: 'CC-500' } }],
    });
    expect(msg.finance).toMatchObject({ id: 'evt-concur-1', docType: 'ExpenseReport', docId: '764428DD6A664AF0BFCB' });
  });

  it('reads Concur expenses from a separate message property when configured', async () => {
    await helper.load(
      nodes,
      flow({ mapping: 'concur', profileOptions: JSON.stringify(CONCUR_OPTIONS), linesProperty: 'concurExpenses' }),
    );
    const withLines = await send({ payload: concurSampleReport(), concurExpenses: concurSampleEntries().Items });
    expect(withLines.on).toBe('valid');

    const without = await send({ payload: concurSampleReport() });
    expect(without.on).toBe('invalid');
    expect(without.msg.errors).toEqual([
      { path: '', rule: 'sourceShape', message: expect.stringContaining('Concur expenses /: are missing') },
    ]);
  });

  /** The sample's 400.00 expense itemized (300.00 + 100.00) and its 125.00 expense allocated 60 / 40. */
  function itemizedAndAllocated(): { expenses: Msg; itemizations: Msg[]; allocations: Msg } {
    const expenses = concurSampleEntries();
    const [office, misc] = expenses.Items;
    office.HasItemizations = true;
    misc.AllocationType = 'F';
    const item = (id: string, type: string, amount: number) => ({
      ID: id,
      EntryID: office.ID,
      ReportID: office.ReportID,
      ExpenseTypeCode: type,
      TransactionDate: '2020-03-11T00:00:00',
      PostedAmount: amount,
      IsPersonal: false,
      AllocationType: 'N',
    });
    const share = (id: string, percentage: string, code: string) => ({
      ID: id,
      EntryID: misc.ID,
      Percentage: percentage,
      IsHidden: false,
      Custom1: { Type: 'List', Code: code, Value: code },
    });
    return {
      expenses,
      itemizations: [item('I1', 'OFCSP', 300), item('I2', 'MISCS', 100)],
      allocations: { Items: [share('A1', '60.00', 'CC-1'), share('A2', '40.00', 'CC-2')], NextPage: null },
    };
  }

  it('maps itemized and allocated Concur expenses from msg.payload.itemizations and msg.payload.allocations', async () => {
    await helper.load(nodes, flow({ mapping: 'concur', profileOptions: JSON.stringify(CONCUR_OPTIONS) }));
    const { expenses, itemizations, allocations } = itemizedAndAllocated();
    const { on, msg } = await send({ payload: { ...concurSampleReport(), expenses, itemizations, allocations } });
    expect(on).toBe('valid');
    const office = expenses.Items[0].ID as string;
    const misc = expenses.Items[1].ID as string;
    expect(
      (msg.payload.lines as Msg[]).map((line) => [line.lineId, line.amount.amount, line.dimensions.costCenter]),
    ).toEqual([
      [`${office}/I1`, '300.00', 'CC-500'],
      [`${office}/I2`, '100.00', 'CC-500'],
      [`${misc}/A1`, '75.00', 'CC-1'],
      [`${misc}/A2`, '50.00', 'CC-2'],
    ]);
    expect(msg.payload.lines[1].dimensions.glAccount).toBe('6600');

    // Without them, the expense is refused naming the property to fill.
    const without = await send({ payload: { ...concurSampleReport(), expenses } });
    expect(without.on).toBe('invalid');
    expect(without.msg.errors[0].message).toContain('put them in msg.payload.itemizations');
  });

  it('reads itemizations and allocations from the properties set in the dialog', async () => {
    await helper.load(
      nodes,
      flow({
        mapping: 'concur',
        profileOptions: JSON.stringify(CONCUR_OPTIONS),
        itemizationsProperty: 'concur.itemizations',
        allocationsProperty: 'msg.concur.allocations',
      }),
    );
    const { expenses, itemizations, allocations } = itemizedAndAllocated();
    const valid = await send({ payload: { ...concurSampleReport(), expenses }, concur: { itemizations, allocations } });
    expect(valid.on).toBe('valid');
    expect(valid.msg.payload.lines).toHaveLength(4);

    const noAllocations = await send({ payload: { ...concurSampleReport(), expenses }, concur: { itemizations } });
    expect(noAllocations.on).toBe('invalid');
    expect(noAllocations.msg.errors[0].message).toContain(
      "put them in msg.concur.allocations (the finance-map node's Allocations property)",
    );
  });

  it('sends a Concur expense it cannot map right to the invalid output, naming it (cash advance, VAT)', async () => {
    await helper.load(nodes, flow({ mapping: 'concur', profileOptions: JSON.stringify(CONCUR_OPTIONS) }));
    const expenses = concurSampleEntries();
    expenses.Items[0].HasAppliedCashAdvance = true;
    const advance = await send({ payload: { ...concurSampleReport(), expenses } });
    expect(advance.on).toBe('invalid');
    expect(advance.msg.errors).toEqual([
      expect.objectContaining({
        path: '/Items/0/HasAppliedCashAdvance',
        message: expect.stringContaining('cash advances are not supported'),
      }),
    ]);

    const vat = concurSampleEntries();
    vat.Items[1].HasVAT = true;
    expect((await send({ payload: { ...concurSampleReport(), expenses: vat } })).on).toBe('invalid');
    await helper.unload();
    const gross = JSON.stringify({ ...CONCUR_OPTIONS, vatExpenses: 'gross' });
    await helper.load(nodes, flow({ mapping: 'concur', profileOptions: gross }));
    expect((await send({ payload: { ...concurSampleReport(), expenses: vat } })).on).toBe('valid');
  });

  it.each(['[]', '1', 'null', '"x"', '{not json'])(
    'ignores profile options %s left from another mapping for CloudEvents',
    async (profileOptions) => {
      await helper.load(nodes, flow({ mapping: 'cloudevents', profileOptions }));
      expect((await send({ payload: cloudEvent() })).on).toBe('valid');
    },
  );

  it('maps with a JSONata expression compiled once per deploy, normalising the source status', async () => {
    await helper.load(nodes, flow({ mapping: 'jsonata', expression: CUSTOM_EXPRESSION, stateSystem: 'concur' }));
    expect(prepareSpy).toHaveBeenCalledTimes(1);

    for (const ref of ['EXP-77', 'EXP-78', 'EXP-79']) {
      const { on, msg } = await send({ payload: { ...customExport(), ref } });
      expect(on).toBe('valid');
      expect(msg.payload).toEqual({
        docType: 'ExpenseReport',
        sourceRef: { system: 'acme-expenses', id: ref },
        reportId: ref,
        employeeId: 'E1015',
        company: 'FS-DEMO',
        state: 'pending_approval',
        total: { amount: '59.75', currency: 'EUR' },
        lines: [
          {
            lineId: '1',
            date: '2026-03-03',
            amount: { amount: '42.50', currency: 'EUR' },
            dimensions: { costCenter: 'CC-300', glAccount: '6010' },
          },
          {
            lineId: '2',
            date: '2026-03-04',
            amount: { amount: '17.25', currency: 'EUR' },
            dimensions: { costCenter: 'CC-300', glAccount: '6000' },
          },
        ],
      });
      expect(msg.finance).toEqual({ docType: 'ExpenseReport', docId: ref });
    }
    expect(prepareSpy).toHaveBeenCalledTimes(1);
  });

  it('sends a document the JSONata expression fails on to output 2, as a data problem', async () => {
    await helper.load(nodes, flow({ mapping: 'jsonata', expression: CUSTOM_EXPRESSION }, true));
    const store = (helper.getNode('store') as FinanceStoreNode).store();
    const key = inboxKey('urn:acme:expenses', 'evt-ER-1001-1');
    await store.accept({ key, envelope: envelope(), payload: {} });

    const payload = customExport();
    payload.items[1].cost = '17.25'; // a string where $sum needs numbers
    const { on, msg } = await send({ payload, finance: envelope() });
    expect(on).toBe('invalid');
    expect(msg.payload).toEqual(payload);
    expect(msg.errors).toEqual([
      {
        path: '',
        rule: 'jsonata',
        message: expect.stringContaining('The JSONata mapping failed on this document (error T0412'),
      },
    ]);
    expect(await store.get(key)).toMatchObject({ state: 'final', outcome: { status: 'invalid' } });
  });

  it('reports a source status code the table does not know', async () => {
    await helper.load(nodes, flow({ mapping: 'jsonata', expression: CUSTOM_EXPRESSION, stateSystem: 'concur' }));
    const payload = { ...customExport(), status: 'A_LOST' };
    const { on, msg } = await send({ payload });
    expect(on).toBe('invalid');
    expect(msg.errors).toEqual([
      {
        path: '/state',
        rule: 'state',
        message: expect.stringContaining('SAP Concur approval status "A_LOST" is not known'),
      },
    ]);
  });

  it('refuses an expression that does not compile at deploy and fails every message with CONFIG_INVALID', async () => {
    await helper.load(nodes, flow({ mapping: 'jsonata', expression: '{ "docType": payload.( }' }));
    expect(prepareSpy).toHaveBeenCalledTimes(1);
    const seen = statuses();
    const { on, msg } = await send({ payload: customExport() });
    await settle();
    expect(seen.at(-1)).toEqual({ fill: 'red', shape: 'ring', text: 'CONFIG_INVALID' });
    expect(on).toBe('caught');
    expect(msg.error).toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringContaining('The JSONata mapping does not compile (error S0'),
      source: { id: 'map', type: 'finance-map' },
    });
  });

  it.each([
    [{ mapping: 'concur', profileOptions: '{"costCenterField": 7}' }, 'option "costCenterField" must be'],
    [
      { mapping: 'concur', profileOptions: '{"vatExpenses": "net"}' },
      'Profile options: the concur profile option "vatExpenses" must be one of refuse, gross, got "net". ' +
        "Fix it in the Profile options of this finance-map node's dialog.",
    ],
    [{ mapping: 'ramp', profileOptions: '[]' }, 'Profile options must be a JSON object'],
    [{ mapping: 'concur', linesProperty: 'expenses[' }, 'Expenses property "msg.expenses[" is not a message property'],
    [
      { mapping: 'concur', itemizationsProperty: 'items[' },
      'Itemizations property "msg.items[" is not a message property',
    ],
    [
      { mapping: 'concur', allocationsProperty: 'splits[' },
      'Allocations property "msg.splits[" is not a message property',
    ],
    [{ store: 'no-such-store' }, 'The finance store this node records outcomes in is not deployed'],
    [{ docType: 'Invoice' }, 'Document type is "Invoice"'],
  ])('fails every message with CONFIG_INVALID for the setting %p', async (settings, message) => {
    await helper.load(nodes, flow(settings));
    const { on, msg } = await send({ payload: cloudEvent() });
    expect(on).toBe('caught');
    expect(msg.error).toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringContaining(message) });
  });
});
