import { recordOfMessage, recordOfObservation } from '../../../lib/audit/record';
import { ObservationHub } from '../../../lib/observe/hub';
import type { Observation } from '../../../lib/observe/observation';
import { toPrometheus } from '../../../lib/metrics/prometheus';
import { MAX_LABEL_LENGTH, MAX_SYSTEM_LABELS, shortLabel } from '../../../lib/metrics/labels';
import { MetricsRegistry } from '../../../lib/metrics/registry';

const at = '2026-03-01T10:00:00.000Z';
const node = (type: string) => ({ type, id: `${type}-1` });
const expense = { system: 'concur:ACME', process: 'expense' };

function event(id: string, extra: Partial<Observation> = {}): Partial<Observation> {
  return { ...expense, sourceIds: { eventId: id, docType: 'ExpenseReport', docId: `R-${id}` }, ...extra };
}

describe('MetricsRegistry', () => {
  it('counts a known run per system and process', () => {
    const hub = new ObservationHub();
    const registry = new MetricsRegistry(hub);
    const publish = (observation: Partial<Observation>) => hub.publish({ at, ...observation } as Observation);

    for (const id of ['e1', 'e2', 'e3', 'e4'])
      publish({ kind: 'intake', node: node('finance-event-in'), output: 'accepted', ...event(id) });
    publish({ kind: 'intake', node: node('finance-event-in'), output: 'duplicate', ...event('e1') });
    publish({
      kind: 'intake',
      node: node('finance-event-in'),
      output: 'rejected',
      system: 'concur',
      error: { code: 'SIGNATURE_INVALID' },
    });
    // e1 posted first time; e2 after a retry; e3 refused by the ERP; e4 fails for good.
    publish({ kind: 'outcome', node: node('finance-post'), output: 'posted', attempt: 1, ...event('e1') });
    publish({
      kind: 'retry',
      node: node('finance-post'),
      error: { code: 'ERP_UNAVAILABLE' },
      ...event('e2', { attempt: 1 }),
    });
    publish({ kind: 'outcome', node: node('finance-post'), output: 'posted', attempt: 2, ...event('e2') });
    // finance-retry: a first pass (not a retry) and a scheduled retry.
    publish({ kind: 'outcome', node: node('finance-retry'), output: 'retry', ...event('e2') });
    publish({ kind: 'outcome', node: node('finance-retry'), output: 'scheduled', ...event('e2') });
    publish({ kind: 'outcome', node: node('finance-post'), output: 'refused', attempt: 1, ...event('e3') });
    publish({ kind: 'failure', node: node('finance-post'), error: { code: 'ERP_TIMEOUT' }, ...event('e4') });
    // Write-back completes e1 and e2; a recovered re-run of e1 completes it again, which is not counted twice.
    publish({ kind: 'outcome', node: node('finance-writeback'), output: 'done', ...event('e1') });
    publish({ kind: 'outcome', node: node('finance-writeback'), output: 'done', ...event('e2') });
    publish({ kind: 'outcome', node: node('finance-writeback'), output: 'done', ...event('e1') });
    // Approval cycles of 10 minutes and 2 hours; an escalation is not a final decision.
    const approval = (decidedAt: string) => ({ state: 'approved', submittedAt: '2026-03-01T08:00:00Z', decidedAt });
    publish({
      kind: 'outcome',
      node: node('finance-approval'),
      output: 'approved',
      approval: approval('2026-03-01T08:10:00Z'),
      ...event('e1'),
    });
    publish({
      kind: 'outcome',
      node: node('finance-approval'),
      output: 'rejected',
      approval: approval('2026-03-01T10:00:00Z'),
      ...event('e3'),
    });
    publish({
      kind: 'outcome',
      node: node('finance-approval'),
      output: 'escalated',
      approval: approval('2026-03-01T09:00:00Z'),
      ...event('e4'),
    });
    // ERP calls and the breaker.
    publish({ kind: 'erp-call', system: 'BC', request: { method: 'POST', path: '/x', status: 201, durationMs: 40 } });
    publish({ kind: 'erp-call', system: 'BC', request: { method: 'POST', path: '/x', status: 503, durationMs: 2000 } });
    publish({
      kind: 'erp-call',
      system: 'BC',
      request: { method: 'GET', path: '/x', durationMs: 10_000 },
      error: { code: 'ERP_TIMEOUT' },
    });
    publish({ kind: 'circuit', system: 'BC', circuitState: 'open' });

    const snapshot = registry.snapshot();
    const row = snapshot.processes.find((p) => p.system === 'concur:ACME' && p.process === 'expense')!;
    expect(row).toMatchObject({
      accepted: 4,
      duplicatesSuppressed: 1,
      completed: 2,
      refused: 1,
      failed: 1,
      retries: 2,
      postings: { firstPass: 1, afterRetry: 1, refused: 1, failed: 1 },
      firstPassPostingRate: 0.25,
      exceptionRate: 0.5,
    });
    expect(row.approvalCycleSeconds).toMatchObject({ count: 2, sum: 600 + 7200 });
    expect(row.approvalCycleSeconds.buckets.find((b) => b.le === 900)!.count).toBe(1);
    const rejected = snapshot.processes.find((p) => p.system === 'concur')!;
    expect(rejected).toMatchObject({ process: 'other', refused: 1, exceptionRate: 1 });
    expect(snapshot.erp).toEqual([
      expect.objectContaining({
        system: 'BC',
        requests: 3,
        byStatus: { '2xx': 1, '5xx': 1, ERP_TIMEOUT: 1 },
        circuit: 'open',
      }),
    ]);
    expect(snapshot.erp[0]!.latencySeconds).toMatchObject({ count: 3, sum: 12.04 });

    const text = toPrometheus({ ...snapshot, deadLetters: [{ ...expense, open: 3 }], spend: [], problems: [] });
    expect(text).toContain('finance_events_accepted_total{system="concur:ACME",process="expense"} 4\n');
    expect(text).toContain('finance_postings_total{system="concur:ACME",process="expense",result="after_retry"} 1\n');
    expect(text).toContain('finance_dead_letters_open{system="concur:ACME",process="expense"} 3\n');
    expect(text).toContain(
      'finance_approval_cycle_seconds_bucket{system="concur:ACME",process="expense",le="+Inf"} 2\n',
    );
    expect(text).toContain('finance_erp_circuit_state{erp="BC",state="open"} 1\n');
    expect(text).toContain('finance_erp_request_duration_seconds_bucket{erp="BC",le="0.05"} 1\n');
  });

  it('writes money as the decimal strings it was given and escapes label values', () => {
    const text = toPrometheus({
      at,
      processes: [],
      erp: [],
      deadLetters: [],
      spend: [
        {
          erp: 'ERP "main"\\x',
          costCenter: 'CC-1',
          currency: 'JPY',
          committed: '1200',
          actual: '99999999999999999',
          total: '100000000000001199',
        },
      ],
      problems: ['spend: ERP down'],
    });
    expect(text).toContain(
      'finance_spend_actual{erp="ERP \\"main\\"\\\\x",cost_center="CC-1",currency="JPY"} 99999999999999999\n',
    );
    expect(text).toContain('finance_metrics_problems 1\n');
  });
});

describe('system labels, which come from what senders write', () => {
  const accepted = (system: string): Observation => ({
    kind: 'intake',
    at,
    node: node('finance-event-in'),
    output: 'accepted',
    system,
    process: 'expense',
  });

  it(`keep their own label for the first ${MAX_SYSTEM_LABELS} systems and count later ones as "other"`, () => {
    const registry = new MetricsRegistry();
    for (let i = 0; i < 20_000; i++) registry.record(accepted(`/tenants/acme/reports/${i}`));
    expect(registry.systemsFolded).toBe(true);

    const snapshot = registry.snapshot();
    expect(snapshot.processes).toHaveLength(MAX_SYSTEM_LABELS + 1);
    expect(snapshot.processes.find((p) => p.system === '/tenants/acme/reports/0')!.accepted).toBe(1);
    expect(snapshot.processes.find((p) => p.system === 'other')!.accepted).toBe(20_000 - MAX_SYSTEM_LABELS);
    // A system seen before the limit keeps its label after it.
    registry.record(accepted('/tenants/acme/reports/7'));
    expect(registry.snapshot().processes.find((p) => p.system === '/tenants/acme/reports/7')!.accepted).toBe(2);

    const text = toPrometheus({ ...registry.snapshot(), deadLetters: [], spend: [], problems: [] });
    const systems = new Set([...text.matchAll(/system="([^"]*)"/g)].map((match) => match[1]));
    expect(systems.size).toBe(MAX_SYSTEM_LABELS + 1);
  });

  it(`are cut to ${MAX_LABEL_LENGTH} characters, and do not fold below the limit`, () => {
    const registry = new MetricsRegistry();
    const long = `/tenants/${'a'.repeat(500)}`;
    registry.record(accepted(long));
    registry.record(accepted(`${long}/another-report`));
    expect(registry.snapshot().processes).toEqual([
      expect.objectContaining({ system: long.slice(0, MAX_LABEL_LENGTH), accepted: 2 }),
    ]);
    expect(registry.systemsFolded).toBe(false);
  });

  it('never cut a character made of two UTF-16 units in half', () => {
    const label = shortLabel(`${'a'.repeat(MAX_LABEL_LENGTH - 1)}\u{1F4B6}rest`);
    expect(label).toBe('a'.repeat(MAX_LABEL_LENGTH - 1));
  });

  it('count rejected intakes (the exception rate) under the same bounded label', () => {
    const registry = new MetricsRegistry();
    for (let i = 0; i < MAX_SYSTEM_LABELS; i++) registry.record(accepted(`s${i}`));
    registry.record({ ...accepted('late-1'), output: 'rejected' });
    registry.record({ ...accepted('late-2'), output: 'accepted' });
    expect(registry.snapshot().processes.find((p) => p.system === 'other')).toMatchObject({
      accepted: 1,
      refused: 1,
      exceptionRate: 0.5,
    });
  });
});

describe('audit records', () => {
  it('keep named facts only, with secret-looking values removed in one place', () => {
    const record = recordOfMessage(
      {
        topic: 'manual-override',
        finance: { correlationId: 'c-1', source: 'concur:ACME', id: 'e1', docType: 'ExpenseReport', docId: 'R1' },
        headers: { authorization: 'Bearer abc.def' },
        payload: { secretThing: 'x', note: 'called with Bearer sk_live_123' },
        audit: { by: 'E1003', apiKey: 'k-123', reason: 'Authorization: Basic dXNlcjpwYXNz' },
      },
      { type: 'finance-audit', id: 'a1' },
    );
    const text = JSON.stringify(record);
    expect(record).toMatchObject({
      step: 'manual-override',
      correlationId: 'c-1',
      system: 'concur:ACME',
      details: { by: 'E1003' },
    });
    for (const secret of ['abc.def', 'sk_live_123', 'k-123', 'dXNlcjpwYXNz', 'secretThing'])
      expect(text).not.toContain(secret);
    expect(
      recordOfObservation({
        kind: 'erp-call',
        at,
        system: 'BC',
        request: { method: 'GET', path: '/p', status: 200, durationMs: 3 },
      }),
    ).toMatchObject({
      step: 'erp:call',
      request: { status: 200 },
    });
  });
});
