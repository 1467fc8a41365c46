/**
 * Two hosts (two workflows of the same node, each with its own store handle and connection pool) on one
 * PostgreSQL store: a change to one document's approval on one host must see what the other host stored.
 * Each race is made certain, not left to timing: one host pauses right after reading the approval, until the
 * other host's change is done (or, when the other host waits for it, a moment has passed).
 */
import { compileMatrix } from '../../../lib/approval/matrix';
import { docKeyOf, type DocumentMessage } from '../../../lib/approval/pending-approvals';
import type { DecisionKind } from '../../../lib/approval/process';
import { ApprovalWorkflow, type ApprovalWorkflowOptions } from '../../../lib/approval/workflow';
import type { FinanceStore } from '../../../lib/reliability/store';
import { storeSandbox } from '../store/store-fixture';
import { directory, matrixConfig, report } from './fixtures';

const T0 = Date.parse('2025-03-12T09:00:00.000Z');
const HOUR = 3_600_000;
const NS = 'finance-approval/fa-shared';
/** How long a paused host waits for the other one before it goes on anyway. */
const PAUSE_MS = 300;

/**
 * A change gives its lease back by shortening it to 1 ms (kept-lease.ts), so a claim by another holder in that same
 * millisecond is still refused (the workflow's own claims wait and try again). A test that claims the lease right
 * after a change waits that long first.
 */
const leaseGivenBack = () => new Promise((resolve) => setTimeout(resolve, 20));

describe('ApprovalWorkflow on a PostgreSQL store two hosts share', () => {
  const sandbox = storeSandbox('fa_shared_approval', 'postgres');
  afterAll(() => sandbox.cleanup());
  let now: number;

  beforeEach(() => {
    now = T0;
  });

  /** Two handles on one new schema, as two hosts have. */
  function twoStores(): [FinanceStore, FinanceStore] {
    const location = sandbox.newPath();
    return [sandbox.open({ path: location }), sandbox.open({ path: location })];
  }

  function host(store: FinanceStore, options: Partial<ApprovalWorkflowOptions> = {}) {
    return new ApprovalWorkflow({
      store,
      namespace: NS,
      matrix: compileMatrix(matrixConfig()),
      delegations: [],
      directory: () => Promise.resolve(directory()),
      clock: () => new Date(now),
      ...options,
    });
  }

  /**
   * The store; once armed, it pauses after the next read of a pending approval (`doc:` key) until the other
   * host's change is done (`done()`) or PAUSE_MS have passed: the moment between reading the approval and
   * writing it back.
   */
  function pausing(store: FinanceStore) {
    let armed = false;
    let done: () => void = () => undefined;
    const otherDone = new Promise<void>((resolve) => {
      done = resolve;
    });
    let pausing: () => void = () => undefined;
    const reached = new Promise<void>((resolve) => {
      pausing = resolve;
    });
    const paused = Object.assign(Object.create(store) as FinanceStore, {
      kvGet: async (namespace: string, key: string) => {
        const value = await store.kvGet(namespace, key);
        if (armed && key.startsWith('doc:')) {
          armed = false;
          pausing();
          await Promise.race([otherDone, new Promise((resolve) => setTimeout(resolve, PAUSE_MS))]);
        }
        return value;
      },
    });
    return {
      store: paused,
      arm: () => {
        armed = true;
      },
      /** Resolves when the armed read has happened and the host pauses. */
      reached,
      done,
    };
  }

  function document(id: string, amount = '500.00'): DocumentMessage {
    const base = report({ amount });
    return { payload: { ...base, reportId: id, sourceRef: { system: 'concur', id, version: 1 } } };
  }

  function decision(id: string, kind: DecisionKind, approver = 'E200', minutes = 60) {
    now = Math.max(now, T0 + minutes * 60_000);
    return {
      target: { subject: { system: 'concur', id } },
      decision: { decision: kind, approver, decidedAt: new Date(T0 + minutes * 60_000).toISOString() },
    };
  }

  async function stored(store: FinanceStore, id: string) {
    const key = docKeyOf({ system: 'concur', id });
    return {
      pending: (await store.kvGet(`${NS}/approvals`, `doc:${key}`)) as { record: { state: string } } | undefined,
      done: (await store.kvGet(`${NS}/approvals`, `done:${key}`)) as { record: { state: string } } | undefined,
    };
  }

  it('applies one of an approval on one host and a rejection on the other, and refuses the second', async () => {
    const [storeA, storeB] = twoStores();
    const a = pausing(storeA);
    const hostA = host(a.store);
    const hostB = host(storeB);
    await hostA.start(document('RPT-R1'));

    a.arm();
    const approval = hostA.decide(decision('RPT-R1', 'approve'));
    // Host A has read the pending approval and pauses before writing it; host B's rejection comes meanwhile.
    await a.reached;
    const rejection = hostB.decide(decision('RPT-R1', 'reject', 'E200', 61));
    void rejection.finally(a.done).catch(() => undefined);
    const [approved, rejected] = await Promise.allSettled([approval, rejection]);

    expect(approved).toMatchObject({ status: 'fulfilled', value: { outcome: 'approved', duplicate: false } });
    expect(rejected).toMatchObject({
      status: 'rejected',
      reason: { code: 'APPROVER_NOT_ALLOWED', message: expect.stringContaining('already approved by E200') },
    });
    expect(await stored(storeB, 'RPT-R1')).toEqual({
      pending: undefined,
      done: expect.objectContaining({ record: expect.objectContaining({ state: 'approved' }) }),
    });
  });

  it('does not write back as pending an approval another host decided while its SLA check escalated it', async () => {
    const [storeA, storeB] = twoStores();
    const b = pausing(storeB);
    const slaHost = host(b.store);
    const decidingHost = host(storeA);
    await decidingHost.start(document('RPT-E1'));

    now = T0 + 25 * HOUR;
    b.arm();
    const check = slaHost.checkSla();
    await b.reached;
    // E200 rejected before the SLA ran out; the message reaches the other host while the check runs.
    const rejection = decidingHost.decide({
      target: { subject: { system: 'concur', id: 'RPT-E1' } },
      decision: { decision: 'reject', approver: 'E200', decidedAt: new Date(T0 + 23 * HOUR).toISOString() },
    });
    void rejection.finally(b.done).catch(() => undefined);
    const [escalations, rejected] = await Promise.all([check, rejection]);

    expect(rejected).toMatchObject({ outcome: 'rejected', duplicate: false });
    expect(escalations.flat().map((emission) => emission.port)).toEqual(['escalated', 'request']);
    // Decided once, and nothing pending: the escalated approver cannot approve what was rejected.
    expect(await stored(storeA, 'RPT-E1')).toEqual({
      pending: undefined,
      done: expect.objectContaining({ record: expect.objectContaining({ state: 'rejected' }) }),
    });
    await expect(decidingHost.decide(decision('RPT-E1', 'approve', 'E300', 26 * 60))).rejects.toMatchObject({
      code: 'APPROVER_NOT_ALLOWED',
    });
  });

  it('fails with a retryable error, changing nothing, while another holder keeps the document, and goes on after', async () => {
    const [storeA, storeB] = twoStores();
    const hostA = host(storeA, { documentLockWaitMs: 200 });
    await hostA.start(document('RPT-L1'));
    // A host that stopped in the middle of a change left the document's lease behind, for another 1.5 s.
    const lease = `${NS}/lock:${docKeyOf({ system: 'concur', id: 'RPT-L1' })}`;
    await leaseGivenBack();
    expect(await storeB.claimLease(lease, 'stopped-host', 1_500)).toBe(true);

    const began = Date.now();
    await expect(hostA.decide(decision('RPT-L1', 'approve'))).rejects.toMatchObject({
      code: 'STORE_UNAVAILABLE',
      retryable: true,
      details: { sent: false, lease },
      message: expect.stringContaining('being changed by another host'),
    });
    expect(Date.now() - began).toBeLessThan(1_400);
    expect((await stored(storeA, 'RPT-L1')).pending).toMatchObject({ record: { state: 'pending_approval' } });

    await new Promise((resolve) => setTimeout(resolve, 1_600 - (Date.now() - began)));
    expect(await hostA.decide(decision('RPT-L1', 'approve'))).toMatchObject({ outcome: 'approved' });
  });

  it('postpones the escalation of an approval another host keeps, and escalates the others', async () => {
    const [storeA, storeB] = twoStores();
    const warnings: string[] = [];
    const slaHost = host(storeA, { documentLockWaitMs: 100, warn: (text) => warnings.push(text) });
    await slaHost.start(document('RPT-S1'));
    await slaHost.start(document('RPT-S2'));
    const lease = `${NS}/lock:${docKeyOf({ system: 'concur', id: 'RPT-S1' })}`;
    await leaseGivenBack();
    expect(await storeB.claimLease(lease, 'stopped-host', 10_000)).toBe(true);

    now = T0 + 25 * HOUR;
    const escalations = await slaHost.checkSla();
    expect(escalations.map((emissions) => emissions[0].message.payload.reportId)).toEqual(['RPT-S2']);
    expect(warnings).toEqual([expect.stringContaining('SLA escalation postponed')]);
    expect((await stored(storeA, 'RPT-S1')).pending).toMatchObject({ record: { state: 'pending_approval' } });
  });

  it('gives the lease back after each change, so the other host need not wait for it to lapse', async () => {
    const [storeA, storeB] = twoStores();
    const claims: Array<[string, number]> = [];
    const counting = Object.assign(Object.create(storeA) as FinanceStore, {
      claimLease: (name: string, holder: string, ttlMs: number) => {
        claims.push([name, ttlMs]);
        return storeA.claimLease(name, holder, ttlMs);
      },
    });
    const hostA = host(counting);
    const hostB = host(storeB, { documentLockWaitMs: 100 });
    await hostA.start(document('RPT-G1', '1200.00'));
    // One claim and one release (a 1 ms lease) per change.
    expect(claims.map(([, ttl]) => ttl)).toEqual([30_000, 1]);
    expect(await hostB.decide(decision('RPT-G1', 'approve', 'E200', 60))).toMatchObject({ outcome: 'advanced' });
    expect(await hostA.decide(decision('RPT-G1', 'approve', 'E300', 61))).toMatchObject({ outcome: 'approved' });
  });
});

describe('ApprovalWorkflow on a store of one host', () => {
  const sandbox = storeSandbox('fa_local_approval');
  afterAll(() => sandbox.cleanup());

  it('takes no lease: the in-process queue is all one host needs', async () => {
    const store = sandbox.open({ path: sandbox.newPath() });
    const claimLease = jest.fn(store.claimLease.bind(store));
    const flow = new ApprovalWorkflow({
      store: Object.assign(Object.create(store) as FinanceStore, { claimLease }),
      namespace: NS,
      matrix: compileMatrix(matrixConfig()),
      delegations: [],
      directory: () => Promise.resolve(directory()),
      clock: () => new Date(T0 + HOUR),
    });
    const base = report();
    await flow.start({ payload: base });
    await flow.decide({
      target: { reportId: 'RPT-1' },
      decision: { decision: 'approve', approver: 'E200', decidedAt: new Date(T0 + HOUR).toISOString() },
    });
    expect(claimLease).not.toHaveBeenCalled();
  });
});
