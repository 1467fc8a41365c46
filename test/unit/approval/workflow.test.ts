import { compileMatrix } from '../../../lib/approval/matrix';
import type { DocumentMessage } from '../../../lib/approval/pending-approvals';
import type { DecisionKind } from '../../../lib/approval/process';
import { timerIdOf } from '../../../lib/approval/timers';
import { ApprovalWorkflow, type ApprovalWorkflowOptions, type Emission } from '../../../lib/approval/workflow';
import { inboxKey, type FinanceStore } from '../../../lib/reliability/store';
import { storeSandbox } from '../store/store-fixture';
import { directory, matrixConfig, report, type ReportOptions } from './fixtures';

const T0 = Date.parse('2025-03-12T09:00:00.000Z');
const HOUR = 3_600_000;
const SOURCE = 'https://concur.example/webhooks';

describe('ApprovalWorkflow', () => {
  const sandbox = storeSandbox('approval-workflow');
  let store: FinanceStore;
  let now: number;
  let warnings: string[];
  afterAll(() => sandbox.cleanup());

  beforeEach(() => {
    store = sandbox.open({ path: sandbox.newPath() });
    now = T0;
    warnings = [];
  });

  function workflow(options: Partial<ApprovalWorkflowOptions> = {}) {
    return new ApprovalWorkflow({
      store,
      namespace: 'finance-approval/n1',
      matrix: compileMatrix(matrixConfig()),
      delegations: [],
      directory: () => Promise.resolve(directory()),
      clock: () => new Date(now),
      warn: (text) => warnings.push(text),
      ...options,
    });
  }

  /** The store with one of its methods failing, as a full disk or a power cut would make it. */
  function failing<K extends keyof FinanceStore>(method: K, fails: FinanceStore[K]): FinanceStore {
    return Object.assign(Object.create(store) as FinanceStore, { [method]: fails });
  }

  /** A document message as intake and the budget check leave it. */
  function document(
    options: ReportOptions & { eventId?: string; version?: number; id?: string } = {},
  ): DocumentMessage {
    const base = report(options);
    const id = options.id ?? 'RPT-1';
    return {
      payload: { ...base, reportId: id, sourceRef: { system: 'concur', id, version: options.version ?? 1 } },
      finance: { source: SOURCE, id: options.eventId ?? 'evt-1', correlationId: 'corr-1' },
      budget: { status: 'within' },
    };
  }

  /** A decision made `minutes` after T0; the clock moves on to it, as a decision is never dated in the future. */
  function decision(approver: string, kind: DecisionKind = 'approve', id = 'RPT-1', minutes = 60) {
    now = Math.max(now, T0 + minutes * 60_000);
    return {
      target: { subject: { system: 'concur', id } },
      decision: { decision: kind, approver, decidedAt: new Date(T0 + minutes * 60_000).toISOString() },
    };
  }

  const ports = (emissions: Emission[]) => emissions.map((emission) => emission.port);

  /** What the node does with a result: send its emissions, then tell the workflow they were sent. */
  async function sendAll<T extends { emissions: Emission[] } | Emission[][]>(flow: ApprovalWorkflow, result: T) {
    await flow.requestsSent(Array.isArray(result) ? result.flat() : result.emissions);
    return result;
  }

  it('asks the manager for a report in the manager band and keeps the approval pending in the store', async () => {
    const flow = workflow();
    const result = await flow.start(document({ amount: '500.00' }));
    expect(result.status).toBe('pending');
    expect(ports(result.emissions)).toEqual(['request']);
    expect(result.emissions[0].message).toMatchObject({
      topic: 'approval-request',
      approvalRequest: {
        approver: 'E200',
        delegates: [],
        stage: 1,
        dueAt: new Date(T0 + 24 * HOUR).toISOString(),
        reportId: 'RPT-1',
        version: 1,
        total: { amount: '500.00', currency: 'EUR' },
        reason: 'manager of E100',
      },
      approval: { state: 'pending_approval', approver: 'E200', correlationId: 'corr-1' },
      budget: { status: 'within' },
    });
    expect(await workflow().pending(10)).toEqual([
      {
        reportId: 'RPT-1',
        sourceRef: { system: 'concur', id: 'RPT-1', version: 1 },
        state: 'pending_approval',
        approver: 'E200',
        stage: 1,
        dueAt: new Date(T0 + 24 * HOUR).toISOString(),
        total: { amount: '500.00', currency: 'EUR' },
        submitterId: 'E100',
        escalations: 0,
      },
    ]);
  });

  it('approves automatically below the threshold and keeps nothing pending', async () => {
    const flow = workflow();
    const result = await flow.start(document({ amount: '20.00' }));
    expect(result.status).toBe('auto-approved');
    expect(ports(result.emissions)).toEqual(['approved']);
    expect(result.emissions[0].message.approval).toMatchObject({ state: 'approved', autoApproved: true, stage: 0 });
    expect(await flow.pending(10)).toEqual([]);
  });

  it('does not start a second approval for a redelivered document, even when both arrive together', async () => {
    const flow = workflow();
    const [first, second] = await Promise.all([flow.start(document()), flow.start(document())]);
    expect([first.status, second.status].sort()).toEqual(['already-pending', 'pending']);
    expect([...first.emissions, ...second.emissions]).toHaveLength(1);
    expect(await flow.pending(10)).toHaveLength(1);
  });

  it('advances stage by stage and emits the original document with the full record at the end', async () => {
    const flow = workflow();
    const started = document({ amount: '1200.00' });
    await flow.start(started);

    const first = await flow.decide(decision('E200'));
    expect(first).toMatchObject({ outcome: 'advanced', duplicate: false });
    expect(ports(first.emissions)).toEqual(['request']);
    expect(first.emissions[0].message.approvalRequest).toMatchObject({ approver: 'E300', stage: 2 });

    const second = await flow.decide(decision('E300', 'approve', 'RPT-1', 90));
    expect(second.outcome).toBe('approved');
    expect(ports(second.emissions)).toEqual(['approved']);
    const message = second.emissions[0].message;
    expect(message.payload).toEqual(started.payload);
    expect(message.finance).toEqual(started.finance);
    expect(message.budget).toEqual(started.budget);
    expect(message.topic).toBeUndefined();
    expect(message.approval).toMatchObject({
      state: 'approved',
      stage: 2,
      approver: 'E300',
      decidedAt: new Date(T0 + 90 * 60_000).toISOString(),
      sourceRef: { system: 'concur', id: 'RPT-1', version: 1 },
    });
    expect(message.approval.chain.map((entry) => [entry.approver, entry.decidedBy, entry.decision])).toEqual([
      ['E200', 'E200', 'approve'],
      ['E300', 'E300', 'approve'],
    ]);
    expect(await flow.pending(10)).toEqual([]);
  });

  it('applies a redelivered decision once, and refuses a different one on a decided approval', async () => {
    const flow = workflow();
    await flow.start(document());
    await flow.decide(decision('E200'));
    const again = await flow.decide(decision('E200'));
    expect(again).toMatchObject({ outcome: 'approved', duplicate: true, emissions: [] });
    await expect(flow.decide(decision('E200', 'reject', 'RPT-1', 70))).rejects.toMatchObject({
      code: 'APPROVER_NOT_ALLOWED',
      message: expect.stringContaining('already approved'),
    });
  });

  it('refuses someone who is not the approver and leaves the approval as it was', async () => {
    const flow = workflow();
    await flow.start(document());
    await expect(flow.decide(decision('E300'))).rejects.toMatchObject({ code: 'APPROVER_NOT_ALLOWED' });
    expect((await flow.pending(10))[0]).toMatchObject({ approver: 'E200', stage: 1, state: 'pending_approval' });
  });

  it('accepts a delegate valid that day and records whom they stood in for', async () => {
    const flow = workflow({
      delegations: [{ from: 'E200', to: 'E250', validFrom: '2025-03-12', validTo: '2025-03-12' }],
    });
    const started = await flow.start(document());
    expect(started.emissions[0].message.approvalRequest?.delegates).toEqual(['E250']);
    const result = await flow.decide(decision('E250'));
    expect(result.emissions[0].message.approval).toMatchObject({
      state: 'approved',
      approver: 'E250',
      delegateOf: 'E200',
    });
  });

  it('does not list as a delegate the approver of another stage, whom a decision as delegate is refused', async () => {
    const flow = workflow({
      delegations: [
        { from: 'E200', to: 'E250', validFrom: '2025-03-12', validTo: '2025-03-12' },
        { from: 'E200', to: 'E300', validFrom: '2025-03-12', validTo: '2025-03-12' },
      ],
    });
    // 1200.00 EUR: E200, then E300.
    const started = await flow.start(document({ amount: '1200.00' }));
    expect(started.emissions[0].message.approvalRequest?.delegates).toEqual(['E250']);
    await expect(flow.decide(decision('E300'))).rejects.toMatchObject({ code: 'APPROVER_NOT_ALLOWED' });
  });

  it('does not list as a delegate of the next stage someone who decided an earlier one', async () => {
    const both = { validFrom: '2025-03-12', validTo: '2025-03-12' };
    const flow = workflow({
      delegations: [
        { from: 'E200', to: 'E250', ...both },
        { from: 'E300', to: 'E250', ...both },
        { from: 'E300', to: 'E350', ...both },
      ],
    });
    await flow.start(document({ amount: '1200.00' }));
    const advanced = await flow.decide(decision('E250'));
    expect(advanced.emissions[0].message.approvalRequest).toMatchObject({ approver: 'E300', delegates: ['E350'] });
  });

  it('says which document is unknown, by subject or by report id', async () => {
    const flow = workflow();
    await expect(flow.decide(decision('E200', 'approve', 'RPT-404'))).rejects.toMatchObject({
      code: 'APPROVAL_NOT_FOUND',
      message: expect.stringContaining('No approval of concur/RPT-404'),
    });
    await expect(
      flow.decide({ target: { reportId: 'RPT-404' }, decision: decision('E200').decision }),
    ).rejects.toMatchObject({ code: 'APPROVAL_NOT_FOUND', message: expect.stringContaining('report RPT-404') });
  });

  it('finds the approval by report id', async () => {
    const flow = workflow();
    await flow.start(document({ id: 'RPT-7' }));
    const result = await flow.decide({ target: { reportId: 'RPT-7' }, decision: decision('E200').decision });
    expect(result.outcome).toBe('approved');
  });

  it.each([
    ['reject', 'rejected'],
    ['return', 'returned'],
  ] as const)('on %s emits on the rejected port and finishes the event in the inbox', async (kind, state) => {
    await store.accept({ key: inboxKey(SOURCE, 'evt-1'), envelope: { id: 'evt-1' }, payload: {} });
    const flow = workflow();
    await flow.start(document());
    const result = await flow.decide({
      ...decision('E200', kind),
      decision: { ...decision('E200', kind).decision, comment: 'Missing receipts' },
    });
    expect(ports(result.emissions)).toEqual(['rejected']);
    expect(result.emissions[0].message.approval).toMatchObject({ state, comment: 'Missing receipts' });
    expect(await store.get(inboxKey(SOURCE, 'evt-1'))).toMatchObject({
      state: 'final',
      outcome: { status: state, detail: { approver: 'E200', stage: 1, comment: 'Missing receipts' } },
    });
  });

  it.each([
    ['reject', 'rejected'],
    ['return', 'returned'],
  ] as const)(
    'on %s with a write-back following, keeps the event open, and emits the outcome again if it comes back',
    async (kind, state) => {
      const key = inboxKey(SOURCE, 'evt-1');
      await store.accept({ key, envelope: { id: 'evt-1' }, payload: {} });
      const flow = workflow({ writebackFollows: true });
      await flow.start(document());
      const decided = await flow.decide(decision('E200', kind));
      expect(ports(decided.emissions)).toEqual(['rejected']);
      expect(await store.get(key)).toMatchObject({ state: 'open' });

      // The host stopped before the write-back ended the event: the intake emits it again.
      const replay = await flow.start(document());
      expect(replay.status).toBe('replayed');
      expect(ports(replay.emissions)).toEqual(['rejected']);
      expect(replay.emissions[0].message.approval).toMatchObject({ state });
    },
  );

  it('emits the recorded outcome again when a finished document is redelivered, so a re-run completes', async () => {
    const flow = workflow();
    await flow.start(document());
    const decided = await flow.decide(decision('E200'));
    const replay = await flow.start(document());
    expect(replay.status).toBe('replayed');
    expect(ports(replay.emissions)).toEqual(['approved']);
    expect(replay.emissions[0].message.approval).toEqual(decided.record);
    expect(await flow.pending(10)).toEqual([]);
  });

  it('starts over for a new submission of a returned report (a new event)', async () => {
    const flow = workflow();
    await flow.start(document());
    await flow.decide(decision('E200', 'return'));
    const resubmitted = await flow.start(document({ eventId: 'evt-2' }));
    expect(resubmitted.status).toBe('pending');
    expect(await flow.pending(10)).toHaveLength(1);
  });

  it('replaces a pending approval with a newer version of the document, and refuses an older one', async () => {
    const flow = workflow();
    await flow.start(document({ version: 2, amount: '500.00' }));
    const newer = await flow.start(document({ version: 3, amount: '1200.00', eventId: 'evt-3' }));
    expect(newer).toMatchObject({ status: 'pending', superseded: true });
    expect((await flow.pending(10))[0]).toMatchObject({ total: { amount: '1200.00', currency: 'EUR' } });

    await expect(flow.start(document({ version: 1, eventId: 'evt-0' }))).rejects.toMatchObject({
      code: 'STALE_VERSION',
    });
    const autoApproved = await flow.start(document({ version: 4, amount: '20.00', eventId: 'evt-4' }));
    expect(autoApproved).toMatchObject({ status: 'auto-approved', superseded: true });
    expect(await flow.pending(10)).toEqual([]);
    now = T0 + 100 * HOUR;
    expect(await flow.checkSla()).toEqual([]);
    // The automatic approval of version 4 counts like a decision: version 3, arriving again late, is stale.
    await expect(flow.start(document({ version: 3, amount: '1200.00', eventId: 'evt-3' }))).rejects.toMatchObject({
      code: 'STALE_VERSION',
    });
    expect(await flow.pending(10)).toEqual([]);
  });

  it('does not let a decision made on the replaced version approve the newer one', async () => {
    const flow = workflow();
    await flow.start(document({ version: 1, amount: '1200.00' }));
    const onVersion1 = decision('E200', 'approve', 'RPT-1', 60);
    expect(await flow.decide(onVersion1)).toMatchObject({ outcome: 'advanced' });

    // Version 2 asks for more; it starts over at E200, who has not seen it.
    now = T0 + 90 * 60_000;
    const newer = await flow.start(document({ version: 2, amount: '4900.00', eventId: 'evt-2' }));
    expect(newer.record).toMatchObject({
      stage: 1,
      approver: 'E200',
      earlierVersionDecidedAt: onVersion1.decision.decidedAt,
    });

    // The source delivers E200's decision on version 1 again: it must not approve version 2.
    await expect(flow.decide(onVersion1)).rejects.toMatchObject({
      code: 'APPROVER_NOT_ALLOWED',
      message: expect.stringContaining('it was made on that version; E200 must decide on version 2 again'),
    });
    expect((await flow.pending(10))[0]).toMatchObject({ stage: 1, approver: 'E200' });
    // A decision made after version 2 arrived counts.
    expect(await flow.decide(decision('E200', 'approve', 'RPT-1', 120))).toMatchObject({ outcome: 'advanced' });
  });

  it('refuses a decision naming another version than the pending one, and says which one to decide on', async () => {
    const flow = workflow();
    await flow.start(document({ version: 1, amount: '500.00' }));
    // Two hours later the submitter raises the amount; the edit keeps the report's submittedAt.
    now = T0 + 2 * HOUR;
    await flow.start(document({ version: 2, amount: '950.00', eventId: 'evt-2' }));

    // The approver's app still shows version 1; the approval, made after version 2 arrived, says so.
    now = T0 + 2 * HOUR + 60_000;
    const made = { decision: 'approve' as const, approver: 'E200', decidedAt: new Date(now).toISOString() };
    const onVersion1 = { target: { subject: { system: 'concur', id: 'RPT-1', version: 1 } }, decision: made };
    await expect(flow.decide(onVersion1)).rejects.toMatchObject({
      code: 'APPROVER_NOT_ALLOWED',
      message: expect.stringContaining(
        'it is about version 1, but version 2 is the one pending; E200 must decide again on version 2',
      ),
      details: { decisionVersion: 1, pendingVersion: 2, expectedApprover: 'E200' },
    });
    await expect(flow.decide({ target: { reportId: 'RPT-1', version: 1 }, decision: made })).rejects.toMatchObject({
      code: 'APPROVER_NOT_ALLOWED',
    });
    // Nor may a decision about a version that has not arrived yet count for this one.
    await expect(flow.decide({ target: { reportId: 'RPT-1', version: 3 }, decision: made })).rejects.toMatchObject({
      code: 'APPROVER_NOT_ALLOWED',
    });
    const [listed] = await flow.pending(10);
    expect(listed).toMatchObject({ sourceRef: { version: 2 }, total: { amount: '950.00' }, stage: 1 });

    // On the version the list shows, it counts.
    const approved = await flow.decide({ target: { reportId: 'RPT-1', version: 2 }, decision: made });
    expect(approved.outcome).toBe('approved');
    expect(approved.emissions[0].message.payload.total.amount).toBe('950.00');
    // Once decided, the decision about version 1 is still refused (not answered as a duplicate), and the
    // decision on version 2 delivered again is a duplicate.
    await expect(flow.decide(onVersion1)).rejects.toMatchObject({
      code: 'APPROVER_NOT_ALLOWED',
      details: { decisionVersion: 1, decidedVersion: 2 },
    });
    expect(
      await flow.decide({ target: { subject: { system: 'concur', id: 'RPT-1', version: 2 } }, decision: made }),
    ).toMatchObject({ outcome: 'approved', duplicate: true, emissions: [] });
  });

  it('still takes a decision without a version, checked by its time as before', async () => {
    const flow = workflow();
    await flow.start(document({ version: 1, amount: '500.00' }));
    now = T0 + 2 * HOUR;
    await flow.start(document({ version: 2, amount: '950.00', eventId: 'evt-2' }));
    const approved = await flow.decide({
      target: { reportId: 'RPT-1' },
      decision: { decision: 'approve', approver: 'E200', decidedAt: new Date(now + 60_000).toISOString() },
    });
    expect(approved).toMatchObject({ outcome: 'approved', record: { sourceRef: { version: 2 } } });
  });

  it('refuses an older version that comes after a newer one was approved automatically', async () => {
    const flow = workflow();
    expect(await flow.start(document({ version: 2, amount: '20.00', eventId: 'evt-2' }))).toMatchObject({
      status: 'auto-approved',
    });
    await expect(flow.start(document({ version: 1, amount: '500.00', eventId: 'evt-1' }))).rejects.toMatchObject({
      code: 'STALE_VERSION',
    });
    // The same event of version 2 delivered again gets its recorded outcome.
    const again = await flow.start(document({ version: 2, amount: '20.00', eventId: 'evt-2' }));
    expect(again).toMatchObject({ status: 'replayed', record: { state: 'approved', autoApproved: true } });
    expect(await flow.pending(10)).toEqual([]);
  });

  it('refuses a report that is not a valid ExpenseReport and a budget result of the wrong shape', async () => {
    const flow = workflow();
    const bad = document();
    await expect(flow.start({ ...bad, payload: { ...bad.payload, lines: [] } })).rejects.toMatchObject({
      code: 'SCHEMA_INVALID',
    });
    await expect(flow.start({ ...bad, budget: { status: 'over' } })).rejects.toMatchObject({
      code: 'SCHEMA_INVALID',
      details: { field: 'budget.status' },
    });
  });

  it('gives a pending approval its SLA timer back when its event comes again after a crash lost the timer', async () => {
    const flow = workflow();
    const started = await sendAll(flow, await flow.start(document()));
    // A crash between the approval's save and its timer's: the timer is missing.
    await flow.scheduler.cancel(timerIdOf(started.record));
    now = T0 + 24 * HOUR;
    expect(await flow.checkSla()).toEqual([]);
    // Recovery emits the event again.
    expect(await flow.start(document())).toMatchObject({ status: 'already-pending' });
    const [emissions] = await sendAll(flow, await flow.checkSla());
    expect(ports(emissions)).toEqual(['escalated', 'request']);
  });

  it('escalates an overdue stage to the next manager once, asks them, and keeps the approval open', async () => {
    const flow = workflow();
    await sendAll(flow, await flow.start(document()));
    now = T0 + 24 * HOUR - 1;
    expect(await flow.checkSla()).toEqual([]);

    now = T0 + 24 * HOUR;
    const [emissions, ...others] = await sendAll(flow, await flow.checkSla());
    expect(others).toEqual([]);
    expect(ports(emissions)).toEqual(['escalated', 'request']);
    expect(emissions[0].message.approval).toMatchObject({ state: 'escalated', approver: 'E300', escalations: 1 });
    expect(emissions[1].message.approvalRequest).toMatchObject({
      approver: 'E300',
      stage: 1,
      dueAt: new Date(T0 + 48 * HOUR).toISOString(),
      reason: expect.stringMatching(/^E200 did not decide within the 24 h SLA/),
    });
    expect(emissions[1].message.payload).not.toBe(emissions[0].message.payload);
    expect(await flow.checkSla()).toEqual([]);

    // A fresh workflow over the same store (a restart) still knows the escalated approval and its timer.
    const restarted = workflow();
    expect((await restarted.pending(10))[0]).toMatchObject({ approver: 'E300', state: 'escalated' });
    await expect(restarted.decide(decision('E200', 'approve', 'RPT-1', 24 * 60 + 5))).rejects.toMatchObject({
      code: 'APPROVER_NOT_ALLOWED',
    });
    now = T0 + 48 * HOUR;
    const [again] = await restarted.checkSla();
    expect(again[0].message.approval).toMatchObject({ approver: 'E400', escalations: 2 });
  });

  it('drops a timer whose approval was decided meanwhile, and re-times one that moved on', async () => {
    const flow = workflow();
    const started = await sendAll(flow, await flow.start(document({ amount: '1200.00' })));
    now = T0 + HOUR;
    await sendAll(flow, await flow.decide(decision('E200')));
    // The timer of stage 1 comes back, as a lease that ran out during a crash would bring it.
    await flow.scheduler.schedule(started.record);
    now = T0 + 24 * HOUR;
    expect(await flow.checkSla()).toEqual([]);
    now = T0 + 25 * HOUR;
    const [emissions] = await flow.checkSla();
    expect(emissions[0].message.approval).toMatchObject({ stage: 2, approver: 'E400' });

    await flow.decide(decision('E400', 'approve', 'RPT-1', 26 * 60));
    await flow.scheduler.schedule(started.record);
    now = T0 + 100 * HOUR;
    expect(await flow.checkSla()).toEqual([]);
    expect(await store.kvList('finance-approval/n1/timers')).toEqual([]);
  });

  it('escalates to the finance controller when the directory cannot be had, and says so', async () => {
    let available = true;
    const flow = workflow({
      directory: () => (available ? Promise.resolve(directory()) : Promise.reject(new Error('ERP down'))),
    });
    await flow.start(document());
    available = false;
    now = T0 + 25 * HOUR;
    const [emissions] = await flow.checkSla();
    expect(emissions[0].message.approval.approver).toBe('E900');
    expect(warnings).toEqual([expect.stringContaining('SLA escalation without the employee directory (ERP down)')]);
  });

  describe('a request the host stopped before sending', () => {
    const MINUTE = 60_000;
    /** A store that fails to save the approval itself, as a power cut between the two writes would. */
    const failingSaves = () =>
      failing('kvPut', (namespace, key, value, ttlMs) =>
        key.startsWith('doc:') ? Promise.reject(new Error('power cut')) : store.kvPut(namespace, key, value, ttlMs),
      );
    const outbox = () => store.kvList('finance-approval/n1/outbox');

    it('is sent again, once and marked as resent, by the first SLA check a minute later', async () => {
      // The host saved the approval, then died before the request left: nothing marked it as sent.
      await workflow().start(document({ amount: '500.00' }));
      const restarted = workflow();
      now = T0 + MINUTE - 1;
      expect(await restarted.checkSla()).toEqual([]);

      now = T0 + MINUTE;
      const groups = await restarted.checkSla();
      expect(groups.map(ports)).toEqual([['request']]);
      expect(groups[0][0].message).toMatchObject({
        topic: 'approval-request',
        approvalRequest: { approver: 'E200', stage: 1, reason: 'manager of E100', resent: true },
        approval: { state: 'pending_approval', approver: 'E200' },
        payload: { reportId: 'RPT-1' },
      });
      await sendAll(restarted, groups);
      expect(await outbox()).toEqual([]);
      now = T0 + 2 * MINUTE;
      expect(await restarted.checkSla()).toEqual([]);
    });

    it('is not sent again once the node said it sent it', async () => {
      const flow = workflow();
      const started = await flow.start(document({ amount: '500.00' }));
      expect(started.emissions[0].message.approvalRequest?.resent).toBeUndefined();
      expect(await outbox()).toHaveLength(1);
      await sendAll(flow, started);
      expect(await outbox()).toEqual([]);
      now = T0 + 10 * MINUTE;
      expect(await flow.checkSla()).toEqual([]);
    });

    it('keeps the escalation reason when the request to the next approver is sent again', async () => {
      const flow = workflow();
      await sendAll(flow, await flow.start(document()));
      now = T0 + 24 * HOUR;
      const [escalation] = await flow.checkSla();
      expect(ports(escalation)).toEqual(['escalated', 'request']);

      // The host died after the escalation was saved, before its request left: only the request comes again.
      now = T0 + 24 * HOUR + MINUTE;
      const groups = await workflow().checkSla();
      expect(groups.map(ports)).toEqual([['request']]);
      expect(groups[0][0].message.approvalRequest).toMatchObject({
        approver: 'E300',
        reason: expect.stringMatching(/^E200 did not decide within the 24 h SLA/),
        resent: true,
      });
    });

    it('is dropped, not sent, when the approval has moved on or was decided meanwhile', async () => {
      const flow = workflow();
      await flow.start(document({ amount: '1200.00' }));
      // Stage 1's request was never marked as sent; the manager decided all the same (another channel).
      now = T0 + 10 * MINUTE;
      const advanced = await flow.decide(decision('E200', 'approve', 'RPT-1', 10));
      expect(ports(advanced.emissions)).toEqual(['request']);
      await sendAll(flow, advanced);
      now = T0 + 20 * MINUTE;
      expect(await flow.checkSla()).toEqual([]);

      await flow.start(document({ id: 'RPT-2', eventId: 'evt-2', amount: '500.00' }));
      await flow.decide(decision('E200', 'reject', 'RPT-2', 21));
      now = T0 + 30 * MINUTE;
      expect(await flow.checkSla()).toEqual([]);
      expect(await outbox()).toEqual([]);
    });

    it('is dropped when the host died before the approval itself was saved', async () => {
      const dying = workflow({ store: failingSaves() });
      await expect(dying.start(document())).rejects.toThrow('power cut');
      expect(await outbox()).toHaveLength(1);
      now = T0 + 2 * MINUTE;
      expect(await workflow().checkSla()).toEqual([]);
      expect(await outbox()).toEqual([]);
    });

    it('is still sent again when an older request of the document is marked as sent after it', async () => {
      const flow = workflow();
      const started = await flow.start(document({ amount: '1200.00' }));
      const advanced = await flow.decide(decision('E200', 'approve', 'RPT-1', 0));
      // The stage 1 request is marked late, after stage 2 was saved; stage 2's request never left.
      await sendAll(flow, started);
      expect(advanced.emissions[0].message.approvalRequest?.approver).toBe('E300');
      now = T0 + 2 * MINUTE;
      const groups = await workflow().checkSla();
      expect(groups.map((group) => group[0].message.approvalRequest)).toEqual([
        expect.objectContaining({ approver: 'E300', stage: 2, resent: true }),
      ]);
    });

    it('is dropped when the next stage was never saved, rather than sent for a stage the approval is not at', async () => {
      const flow = workflow();
      await sendAll(flow, await flow.start(document({ amount: '1200.00' })));
      const dying = workflow({ store: failingSaves() });
      await expect(dying.decide(decision('E200', 'approve', 'RPT-1', 0))).rejects.toThrow('power cut');
      expect(await outbox()).toEqual([expect.objectContaining({ value: expect.objectContaining({ stage: 2 }) })]);
      now = T0 + 2 * MINUTE;
      expect(await workflow().checkSla()).toEqual([]);
      expect(await outbox()).toEqual([]);
      expect((await workflow().pending(10))[0]).toMatchObject({ stage: 1, approver: 'E200' });
    });

    it('is left for the host that runs the SLA checks', async () => {
      await workflow().start(document());
      const notTheRunner = workflow({ mayRunSla: () => Promise.resolve(false) });
      now = T0 + 2 * MINUTE;
      expect(await notTheRunner.checkSla()).toEqual([]);
      expect(await outbox()).toHaveLength(1);
      expect((await workflow().checkSla()).map(ports)).toEqual([['request']]);
    });

    it('warns when a sent request cannot be marked, and it is then sent again', async () => {
      const flow = workflow({ store: failing('kvDelete', () => Promise.reject(new Error('disk full'))) });
      await expect(sendAll(flow, await flow.start(document()))).resolves.toBeDefined();
      expect(warnings).toEqual([expect.stringContaining('will be sent again: disk full')]);
      now = T0 + 2 * MINUTE;
      expect((await workflow().checkSla()).map(ports)).toEqual([['request']]);
    });
  });

  describe('startSla', () => {
    it('runs the SLA check on an interval and hands over what it emits, until stopped', async () => {
      await workflow().start(document());
      now = T0 + 24 * HOUR;
      const flow = workflow();
      const handed: Emission[][][] = [];
      const errors: unknown[] = [];
      const firstEscalation = new Promise<void>((resolve) => {
        flow.startSla(
          5,
          async (groups) => {
            handed.push(groups);
            if (groups.length > 0) resolve();
          },
          (error) => errors.push(error),
        );
      });
      try {
        await firstEscalation;
      } finally {
        flow.stopSla();
      }
      const calls = handed.length;
      await new Promise((resolve) => setTimeout(resolve, 30));
      expect(handed).toHaveLength(calls);
      expect(handed.flat().map(ports)).toEqual([['escalated', 'request']]);
      expect(errors).toEqual([]);
    });

    it('hands a failed check to the error callback', async () => {
      const flow = workflow({ store: failing('kvList', () => Promise.reject(new Error('store closed'))) });
      const error = await new Promise<unknown>((resolve) => flow.startSla(5, () => Promise.resolve(), resolve));
      flow.stopSla();
      expect(error).toMatchObject({ message: 'store closed' });
    });
  });

  describe('the inbox entry of a waiting event', () => {
    const LEASE = 5_000;
    const MARGIN = 60_000;
    const eventKey = (id = 'evt-1') => inboxKey(SOURCE, id);

    /** The event as intake leaves it: accepted and leased for LEASE ms. */
    function accepted(id = 'evt-1') {
      return store.accept({
        key: eventKey(id),
        envelope: { source: SOURCE, id },
        payload: null,
        lease: { owner: 'event-in', ms: LEASE },
      });
    }

    /** Asserts that the entry's lease ends `ms` (the workflow's view) plus the lease after the store's now. */
    async function expectHeldFor(ms: number, id = 'evt-1', since = Date.now()) {
      const entry = await store.get(eventKey(id));
      expect(entry?.leaseOwner).toBe('event-in');
      expect(entry?.leaseUntil).toBeGreaterThanOrEqual(since + ms + LEASE);
      expect(entry?.leaseUntil).toBeLessThanOrEqual(Date.now() + ms + LEASE);
    }

    it('is held until the SLA due time plus the margin, renewed per stage and escalation, ordinary once approved', async () => {
      await accepted();
      const flow = workflow();
      let since = Date.now();
      await flow.start(document({ amount: '1200.00' }));
      await expectHeldFor(24 * HOUR + MARGIN, 'evt-1', since);
      expect(await store.expiredLeases(10, 0)).toEqual([]);

      now = T0 + HOUR;
      since = Date.now();
      expect((await flow.decide(decision('E200', 'approve', 'RPT-1', 60))).outcome).toBe('advanced');
      await expectHeldFor(24 * HOUR + MARGIN, 'evt-1', since);

      now = T0 + 25 * HOUR;
      since = Date.now();
      const [escalation] = await flow.checkSla();
      const approver = escalation[0].message.approval.approver as string;
      await expectHeldFor(24 * HOUR + MARGIN, 'evt-1', since);

      now = T0 + 30 * HOUR;
      since = Date.now();
      const approved = await flow.decide(decision(approver, 'approve', 'RPT-1', 30 * 60));
      expect(approved.outcome).toBe('approved');
      await expectHeldFor(0, 'evt-1', since);
      expect(await store.get(eventKey())).toMatchObject({ state: 'open', attempts: 1 });
    });

    it('holds a redelivery of the same event again, and finishes another event about the pending document', async () => {
      await accepted();
      await accepted('evt-2');
      const flow = workflow();
      await flow.start(document());
      const since = Date.now();
      expect((await flow.start(document())).status).toBe('already-pending');
      await expectHeldFor(24 * HOUR + MARGIN, 'evt-1', since);

      expect((await flow.start(document({ eventId: 'evt-2' }))).status).toBe('already-pending');
      expect(await store.get(eventKey('evt-2'))).toMatchObject({
        state: 'final',
        outcome: { status: 'duplicate', detail: { pendingEvent: eventKey() } },
      });
    });

    it('finishes the event of a version that a newer one replaced', async () => {
      await accepted();
      await accepted('evt-3');
      const flow = workflow();
      await flow.start(document({ version: 2 }));
      await flow.start(document({ version: 3, eventId: 'evt-3' }));
      expect(await store.get(eventKey())).toMatchObject({
        state: 'final',
        outcome: { status: 'superseded', detail: { by: eventKey('evt-3') } },
      });
      expect(await store.get(eventKey('evt-3'))).toMatchObject({ state: 'open' });
    });

    /** A document from a source without versions (Ramp), with its keys in the given order. */
    function unversioned(amount: string, eventId?: string, reversed = false): DocumentMessage {
      const base = report({ amount });
      const payload = { ...base, sourceRef: { system: 'ramp', id: 'RPT-1' } };
      return {
        payload: reversed ? (Object.fromEntries(Object.entries(payload).reverse()) as typeof payload) : payload,
        ...(eventId !== undefined && { finance: { source: SOURCE, id: eventId, correlationId: `corr-${eventId}` } }),
        budget: { status: 'within' },
      };
    }

    const approve = (minutes: number) => {
      now = Math.max(now, T0 + minutes * 60_000);
      return {
        target: { reportId: 'RPT-1' },
        decision: { decision: 'approve' as const, approver: 'E200', decidedAt: new Date(now).toISOString() },
      };
    };

    it('replaces the approval of a document without versions that comes again changed; the same content is a duplicate', async () => {
      await accepted();
      await accepted('evt-2');
      await accepted('evt-3');
      const flow = workflow();
      expect((await flow.start(unversioned('500.00', 'evt-1'))).status).toBe('pending');

      // The same content in another event (its fields in another order): a redelivery, finished as a duplicate.
      expect((await flow.start(unversioned('500.00', 'evt-2', true))).status).toBe('already-pending');
      expect(await store.get(eventKey('evt-2'))).toMatchObject({ state: 'final', outcome: { status: 'duplicate' } });

      // Changed: a new submission, which replaces the pending approval; the old event is superseded.
      now = T0 + HOUR;
      const changed = await flow.start(unversioned('950.00', 'evt-3'));
      expect(changed).toMatchObject({ status: 'pending', superseded: true });
      expect(ports(changed.emissions)).toEqual(['request']);
      expect(await store.get(eventKey())).toMatchObject({
        state: 'final',
        outcome: { status: 'superseded', detail: { by: eventKey('evt-3') } },
      });
      expect(await store.get(eventKey('evt-3'))).toMatchObject({ state: 'open' });
      const approved = await flow.decide(approve(120));
      expect(approved.outcome).toBe('approved');
      expect(approved.emissions[0].message.payload.total.amount).toBe('950.00');
    });

    it('starts over for a changed document without versions or envelope after its approval was decided', async () => {
      const flow = workflow();
      await flow.start(unversioned('500.00'));
      await flow.decide(approve(60));
      // The same content again is the decided approval's redelivery; changed content is a new submission.
      expect(await flow.start(unversioned('500.00'))).toMatchObject({ status: 'replayed' });
      now = T0 + 2 * HOUR;
      const changed = await flow.start(unversioned('950.00'));
      expect(changed).toMatchObject({ status: 'pending', record: { state: 'pending_approval' } });
      expect((await flow.pending(10))[0]).toMatchObject({ total: { amount: '950.00' } });
    });

    it('treats an approval stored without a content digest (by an earlier release) as before', async () => {
      await accepted();
      await accepted('evt-2');
      const flow = workflow();
      await flow.start(unversioned('500.00', 'evt-1'));
      const key = 'doc:ramp:RPT-1';
      const stored = (await store.kvGet('finance-approval/n1/approvals', key)) as Record<string, unknown>;
      expect(stored.digest).toEqual(expect.any(String));
      delete stored.digest;
      await store.kvPut('finance-approval/n1/approvals', key, stored);
      expect((await flow.start(unversioned('950.00', 'evt-2'))).status).toBe('already-pending');
    });

    it('warns and carries on when the entry cannot be held', async () => {
      const flow = workflow({ store: failing('holdLease', () => Promise.reject(new Error('disk full'))) });
      expect((await flow.start(document())).status).toBe('pending');
      expect(warnings).toEqual([expect.stringContaining('disk full')]);
    });
  });

  it('keeps the approvals of two nodes apart', async () => {
    await workflow({ namespace: 'finance-approval/a' }).start(document());
    expect(await workflow({ namespace: 'finance-approval/b' }).pending(10)).toEqual([]);
    await expect(workflow({ namespace: 'finance-approval/b' }).decide(decision('E200'))).rejects.toMatchObject({
      code: 'APPROVAL_NOT_FOUND',
    });
  });
});
