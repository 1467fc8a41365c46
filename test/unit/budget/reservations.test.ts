/**
 * Reservations of the budget check (lib/budget/reservations.ts): a document that passes holds what it asks of
 * each budget until its ERP write, so two documents that each fit what is left but together exceed it cannot
 * both pass, not even when they are checked at the same moment, in one process or on two hosts of one
 * PostgreSQL store.
 */
import {
  BudgetReservations,
  budgetSettings,
  checkAndReserve,
  FUNDS_RESERVED,
  releaseReservations,
  RESERVATIONS_BY_DOCUMENT,
  RESERVATIONS_NAMESPACE,
  reservationDocumentOf,
  type BudgetCheckOptions,
  type BudgetOutcome,
} from '../../../lib/budget';
import type { BudgetAvailability } from '../../../lib/erp/dialect';
import { minorOf } from '../../../lib/model/money';
import type { BudgetCheckRequest, ExpenseReport, Requisition } from '../../../lib/model/types';
import { KeyedQueue } from '../../../lib/purchasing/keyed-queue';
import type { FinanceStore } from '../../../lib/reliability/store';
import { manualClock, storeSandbox, type Clock } from '../store/store-fixture';
import { eur, expenseLine, expenseReport, orderLine, requisition } from './documents';

const HOUR_MS = 3_600_000;
const HOLD_MS = 72 * HOUR_MS;

/**
 * An ERP that keeps monthly budgets and counts nothing until a document is written (as every ERP does for a
 * requisition before its purchase order): each answer comes after `delayMs`, so two checks overlap.
 */
class SlowBudgets {
  readonly asked: BudgetCheckRequest[] = [];
  constructor(
    private readonly budgets: Record<string, string>,
    private readonly delayMs = 50,
  ) {}

  async checkBudget(request: BudgetCheckRequest): Promise<BudgetAvailability> {
    this.asked.push(request);
    // Held until another check asks too (or the delay passes): two checks that are not kept apart overlap here.
    const asked = this.asked.length;
    const deadline = Date.now() + this.delayMs;
    while (this.asked.length === asked && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const key = [request.costCenter, request.glAccount, request.project].filter(Boolean).join('/');
    const budget = eur(this.budgets[key] ?? '0.00');
    return {
      budget,
      actuals: eur('0.00'),
      commitments: eur('0.00'),
      available: budget,
      requested: request.amount,
      period: request.period,
      status: minorOf(request.amount) > minorOf(budget) ? 'exceeded' : 'within',
      erpMessages: [],
    };
  }
}

const OPTIONS: BudgetCheckOptions = {
  warningPercent: 90,
  noBudget: 'exceeded',
  periodFrom: 'line',
  correlationId: 'corr-res',
  now: () => Date.parse('2026-03-20T10:00:00Z'),
};

/** An expense report `id` charging `amount` to CC-100/6300 in March 2026 (or the given dimensions and date). */
function report(
  id: string,
  amount: string,
  dimensions: ExpenseReport['lines'][number]['dimensions'] = { costCenter: 'CC-100', glAccount: '6300' },
  date = '2026-03-10',
): ExpenseReport {
  return {
    ...expenseReport([expenseLine('L1', amount, dimensions, date)], amount),
    sourceRef: { system: 'acme', id },
    reportId: id,
  };
}

function requisitionOf(id: string, amount: string, version: number): Requisition {
  const line = orderLine('1', '1', amount, amount, [{ dimensions: { costCenter: 'CC-100', glAccount: '6300' } }]);
  return { ...requisition([line], amount), sourceRef: { system: 'coupa', id, version }, requisitionId: id };
}

const money = (outcome: BudgetOutcome) => ({
  status: outcome.status,
  available: outcome.available?.amount,
  reservedByOthers: outcome.reservedByOthers?.amount,
});

describe('budget reservations on a store of one host (lmdb)', () => {
  const sandbox = storeSandbox('budget-reservations');
  let clock: Clock;
  let store: FinanceStore;
  let reservations: BudgetReservations;
  const check = (erp: SlowBudgets, document: ExpenseReport | Requisition, into = reservations) =>
    checkAndReserve(erp, document, OPTIONS, into, HOLD_MS);

  beforeEach(() => {
    clock = manualClock();
    store = sandbox.open({ path: sandbox.newPath(), now: clock.now });
    reservations = new BudgetReservations(store, { holdMs: HOLD_MS });
  });
  afterAll(() => sandbox.cleanup());

  it('lets only one of two documents checked at the same time pass when together they exceed the budget', async () => {
    const erp = new SlowBudgets({ 'CC-100/6300': '1000.00' });
    const [first, second] = await Promise.all([
      check(erp, report('ER-1', '600.00')),
      check(erp, report('ER-2', '600.00')),
    ]);

    expect(money(first)).toEqual({ status: 'within', available: '1000.00', reservedByOthers: '0.00' });
    // The ERP still says 1000.00 is available; 600.00 of it is held by ER-1, so 400.00 is left for ER-2.
    expect(money(second)).toEqual({ status: 'exceeded', available: '400.00', reservedByOthers: '600.00' });
    expect(second.checks[0]).toMatchObject({ available: eur('400.00'), reservedByOthers: eur('600.00') });
    expect(first.erpMessages.map((message) => message.code)).toEqual([FUNDS_RESERVED]);
    expect(second.erpMessages.map((message) => message.code)).toEqual([]);
  });

  it('asks the ERP outside the lock: a slow answer for one document does not hold another check of the budget', async () => {
    const erp = new SlowBudgets({ 'CC-100/6300': '1000.00' }, 0);
    let answerSlowOne: () => void = () => undefined;
    const slowErp = {
      checkBudget: async (request: BudgetCheckRequest) => {
        if (request.amount.amount === '100.00') await new Promise<void>((resolve) => (answerSlowOne = resolve));
        return erp.checkBudget(request);
      },
    };
    const slow = checkAndReserve(slowErp, report('ER-SLOW', '100.00'), OPTIONS, reservations, HOLD_MS);
    await new Promise((resolve) => setTimeout(resolve, 20));
    // ER-2 is checked and reserved while the ERP has not answered for ER-SLOW.
    expect(money(await check(erp, report('ER-2', '300.00')))).toMatchObject({ status: 'within' });
    answerSlowOne();
    expect(money(await slow)).toMatchObject({ status: 'within', reservedByOthers: '300.00' });
  });

  it('still counts a reservation released after the ERP was asked: its write may be missing from the answer', async () => {
    const erp = new SlowBudgets({ 'CC-100/6300': '1000.00' }, 0);
    expect((await check(erp, report('ER-1', '600.00'))).status).toBe('within');
    let answerNow: () => void = () => undefined;
    const answeredBeforeTheWrite = {
      checkBudget: async (request: BudgetCheckRequest) => {
        const answer = await erp.checkBudget(request); // read before ER-1's posting counts in the ERP
        await new Promise<void>((resolve) => (answerNow = resolve));
        return answer;
      },
    };
    const second = checkAndReserve(answeredBeforeTheWrite, report('ER-2', '500.00'), OPTIONS, reservations, HOLD_MS);
    await new Promise((resolve) => setTimeout(resolve, 20));
    // ER-1 is posted now and releases its reservation, while ER-2's answer (without ER-1) is on its way.
    expect(await reservations.release(reservationDocumentOf(report('ER-1', '600.00')) as string)).toBe(1);
    answerNow();
    expect(money(await second)).toEqual({ status: 'exceeded', available: '400.00', reservedByOthers: '600.00' });
    // A check that asks the ERP after the release no longer counts it (the ERP does).
    expect(money(await check(erp, report('ER-3', '500.00')))).toMatchObject({
      status: 'within',
      reservedByOthers: '0.00',
    });
  });

  it('reads only the releases since a check asked the ERP, however many came before', async () => {
    const scope = { company: 'FS-DEMO', currency: 'EUR', key: 'costCenter=CC-100,glAccount=6300@2026-03' };
    for (let index = 0; index < 250; index += 1) {
      const document = `released-${index}`;
      await reservations.reserve(document, [scope], [{ key: scope.key, amount: eur('1.00') }]);
      await reservations.release(document, 1_000 + index);
    }
    await reservations.reserve('held', [scope], [{ key: scope.key, amount: eur('2.00') }]);
    const listed: number[] = [];
    const kvList = store.kvList.bind(store);
    store.kvList = async (...args: Parameters<FinanceStore['kvList']>) => {
      const page = await kvList(...args);
      listed.push(page.length);
      return page;
    };
    // Asked after the 250th release: only the live reservation counts, and no released record is read.
    expect((await reservations.reservedByOthers([scope], 'me', 2_000)).get(scope.key)).toEqual(eur('2.00'));
    expect(listed.reduce((a, b) => a + b, 0)).toBe(1);
    // Asked between releases: those released since (at 1,239 ms and after, 11 of them) still count.
    expect((await reservations.reservedByOthers([scope], 'me', 1_239)).get(scope.key)).toEqual(eur('13.00'));
  });

  it('reserves and releases each in one store transaction, however many budgets the document charges', async () => {
    const erp = new SlowBudgets({ 'CC-100/6300': '1000.00', 'CC-200/6300': '1000.00' });
    const twoBudgets = {
      ...requisitionOf('REQ-1', '300.00', 1),
      lines: [
        orderLine('1', '1', '100.00', '100.00', [{ dimensions: { costCenter: 'CC-100', glAccount: '6300' } }]),
        orderLine('2', '1', '200.00', '200.00', [{ dimensions: { costCenter: 'CC-200', glAccount: '6300' } }]),
      ],
    };
    const writes: string[] = [];
    for (const method of ['kvPut', 'kvDelete', 'kvWrite'] as const) {
      const original = (store[method] as (...args: unknown[]) => Promise<unknown>).bind(store);
      (store as unknown as Record<string, unknown>)[method] = (...args: unknown[]) => {
        writes.push(method);
        return original(...args);
      };
    }
    expect((await check(erp, twoBudgets)).status).toBe('within');
    // Each budget check waits for the one before it to commit: one commit, not one per record.
    expect(writes).toEqual(['kvWrite']);
    expect(await store.kvList(RESERVATIONS_NAMESPACE)).toHaveLength(2);

    writes.length = 0;
    await releaseReservations(store, twoBudgets, jest.fn());
    expect(writes).toEqual(['kvWrite']);
    expect(await store.kvList(RESERVATIONS_NAMESPACE)).toHaveLength(0);
    expect(await store.kvList(RESERVATIONS_BY_DOCUMENT)).toHaveLength(0);
  });

  it('counts a warning as passing: it reserves too', async () => {
    const erp = new SlowBudgets({ 'CC-100/6300': '1000.00' });
    expect((await check(erp, report('ER-1', '950.00'))).status).toBe('warning');
    expect(money(await check(erp, report('ER-2', '60.00')))).toMatchObject({
      status: 'exceeded',
      reservedByOthers: '950.00',
    });
  });

  it('replaces a revision’s own earlier reservation instead of adding to it', async () => {
    const erp = new SlowBudgets({ 'CC-100/6300': '1000.00' });
    expect((await check(erp, requisitionOf('REQ-1', '600.00', 1))).status).toBe('within');
    // The revision is not held back by its own first version: 700.00 fits 1000.00.
    expect(money(await check(erp, requisitionOf('REQ-1', '700.00', 2)))).toMatchObject({
      status: 'within',
      reservedByOthers: '0.00',
    });
    // Others see only the revision's 700.00, not 600.00 + 700.00.
    expect(money(await check(erp, report('ER-2', '300.00')))).toMatchObject({
      status: 'warning',
      reservedByOthers: '700.00',
    });
    const records = await store.kvList(RESERVATIONS_NAMESPACE);
    expect(records.map((record) => (record.value as { amount: unknown }).amount)).toEqual(
      expect.arrayContaining([eur('700.00'), eur('300.00')]),
    );
    expect(records).toHaveLength(2);
  });

  it('drops what a revision no longer charges to a budget', async () => {
    const erp = new SlowBudgets({ 'CC-100/6300': '1000.00', 'CC-200/6300': '1000.00' });
    const moved = (amount: string, costCenter: string) => ({
      ...requisitionOf('REQ-1', amount, 2),
      lines: [orderLine('1', '1', amount, amount, [{ dimensions: { costCenter, glAccount: '6300' } }])],
    });
    await check(erp, moved('600.00', 'CC-100'));
    await check(erp, moved('600.00', 'CC-200'));
    expect(money(await check(erp, report('ER-2', '1000.00')))).toMatchObject({
      status: 'warning',
      reservedByOthers: '0.00',
    });
  });

  it('keeps the earlier reservation when a revision is exceeded, and reserves nothing for it', async () => {
    const erp = new SlowBudgets({ 'CC-100/6300': '1000.00' });
    await check(erp, requisitionOf('REQ-1', '600.00', 1));
    expect((await check(erp, requisitionOf('REQ-1', '1200.00', 2))).status).toBe('exceeded');
    expect(money(await check(erp, report('ER-2', '500.00')))).toMatchObject({
      status: 'exceeded',
      reservedByOthers: '600.00',
    });
  });

  it('releases a document’s reservations when its ERP write counts it', async () => {
    const erp = new SlowBudgets({ 'CC-100/6300': '1000.00' });
    const first = report('ER-1', '600.00');
    await check(erp, first);
    const warn = jest.fn();
    await releaseReservations(store, first, warn);

    expect(warn).not.toHaveBeenCalled();
    expect(money(await check(erp, report('ER-2', '600.00')))).toMatchObject({
      status: 'within',
      reservedByOthers: '0.00',
    });
    expect(await store.kvList(RESERVATIONS_BY_DOCUMENT)).toHaveLength(1); // ER-2's only
  });

  it('ends a reservation at its hold time, and the store purges it', async () => {
    const erp = new SlowBudgets({ 'CC-100/6300': '1000.00' });
    await check(erp, report('ER-1', '600.00'));
    clock.advance(HOLD_MS - 1);
    expect((await check(erp, report('ER-2', '600.00'))).status).toBe('exceeded');

    clock.advance(1);
    expect(money(await check(erp, report('ER-3', '600.00')))).toMatchObject({
      status: 'within',
      reservedByOthers: '0.00',
    });
    clock.advance(HOLD_MS);
    expect((await store.purgeExpired()).kv).toBeGreaterThanOrEqual(2); // ER-3's record and its index
    expect(await store.kvList(RESERVATIONS_NAMESPACE)).toEqual([]);
  });

  it('ignores reservations of another budget key, period, company or currency', async () => {
    const erp = new SlowBudgets({ 'CC-100/6300': '1000.00', 'CC-200/6300': '1000.00', 'CC-100/6400': '1000.00' });
    await check(erp, report('ER-1', '900.00'));

    const otherKey = await check(erp, report('ER-2', '900.00', { costCenter: 'CC-200', glAccount: '6300' }));
    const otherAccount = await check(erp, report('ER-3', '900.00', { costCenter: 'CC-100', glAccount: '6400' }));
    const otherPeriod = await check(erp, report('ER-4', '900.00', undefined, '2026-04-02'));
    const otherCompany = await check(erp, { ...report('ER-5', '900.00'), company: 'FS-OTHER' });
    for (const outcome of [otherKey, otherAccount, otherPeriod, otherCompany]) {
      expect(money(outcome)).toMatchObject({ status: 'warning', reservedByOthers: '0.00' });
    }
    expect(money(await check(erp, report('ER-6', '200.00')))).toMatchObject({
      status: 'exceeded',
      reservedByOthers: '900.00',
    });
  });

  it('reserves nothing for an exceeded document', async () => {
    const erp = new SlowBudgets({ 'CC-100/6300': '1000.00' });
    expect((await check(erp, report('ER-1', '1500.00'))).status).toBe('exceeded');
    expect(await store.kvList(RESERVATIONS_NAMESPACE)).toEqual([]);
  });

  it('never fails the release: a store that cannot be reached is a warning', async () => {
    const broken = {
      ...store,
      kvGet: () => Promise.reject(new Error('store down')),
    } as unknown as FinanceStore;
    const warn = jest.fn();
    await expect(releaseReservations(broken, report('ER-1', '1.00'), warn)).resolves.toBeUndefined();
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('could not be released (store down)'));
  });
});

describe('budget reservations on a store two hosts share (postgres)', () => {
  const sandbox = storeSandbox('budget-reservations', 'postgres');
  let hostA: FinanceStore;
  let hostB: FinanceStore;

  beforeEach(() => {
    const location = sandbox.newPath();
    hostA = sandbox.open({ path: location });
    hostB = sandbox.open({ path: location });
  });
  // Both connected and the tables made before the test, so neither host's first check is slowed by it.
  beforeEach(() => Promise.all([hostA.kvGet('warm-up', 'x'), hostB.kvGet('warm-up', 'x')]));
  afterAll(() => sandbox.cleanup());

  it('lets only one of two documents checked at the same time on two hosts pass', async () => {
    const erp = new SlowBudgets({ 'CC-100/6300': '1000.00' }, 300);
    // Two hosts: each its own process, so each its own queue; only the store's lease keeps them apart.
    const onA = new BudgetReservations(hostA, { holdMs: HOLD_MS, queue: new KeyedQueue() });
    const onB = new BudgetReservations(hostB, { holdMs: HOLD_MS, queue: new KeyedQueue() });
    const outcomes = await Promise.all([
      checkAndReserve(erp, report('ER-1', '600.00'), OPTIONS, onA, HOLD_MS),
      checkAndReserve(erp, report('ER-2', '600.00'), OPTIONS, onB, HOLD_MS),
    ]);

    expect(outcomes.map((outcome) => outcome.status).sort()).toEqual(['exceeded', 'within']);
    const exceeded = outcomes.find((outcome) => outcome.status === 'exceeded') as BudgetOutcome;
    expect(exceeded.reservedByOthers).toEqual(eur('600.00'));

    // Released on host B (the writing node), seen on host A.
    const passed = outcomes[0].status === 'within' ? report('ER-1', '600.00') : report('ER-2', '600.00');
    await releaseReservations(hostB, passed, jest.fn());
    expect(money(await checkAndReserve(erp, report('ER-3', '600.00'), OPTIONS, onA, HOLD_MS))).toMatchObject({
      status: 'within',
      reservedByOthers: '0.00',
    });
  });
});

describe('reservation settings', () => {
  it('is off for a node saved before the option existed, on when ticked, with a hold of 72 hours', () => {
    const base = { warningPercent: 90 };
    expect(budgetSettings(base)).toMatchObject({ reserveFunds: false, reserveHoldMs: 72 * HOUR_MS });
    expect(budgetSettings({ ...base, reserveFunds: true, reserveHoldHours: '4' })).toMatchObject({
      reserveFunds: true,
      reserveHoldMs: 4 * HOUR_MS,
    });
    expect(budgetSettings({ ...base, reserveFunds: 'false' }).reserveFunds).toBe(false);
    expect(() => budgetSettings({ ...base, reserveFunds: true, reserveHoldHours: '0' })).toThrow(
      /Hold reservations for/,
    );
    // Not reserving, the hold's row is hidden and not read.
    expect(budgetSettings({ ...base, reserveFunds: false, reserveHoldHours: '0' }).reserveHoldMs).toBe(72 * HOUR_MS);
  });
});
