/**
 * Scenario 1, faults: 2,000 events through the expense pipeline while the sandbox ERP answers 20 % of calls
 * with 503, lets 5 % time out, resets 2 % of connections and, while the events arrive, rate-limits with 429 +
 * Retry-After. Every accepted event must reach exactly one final outcome (posted and written back, or
 * dead-lettered), no document may be posted twice, and nothing accepted may be lost.
 */
import { startRequestCounter, type RequestCounter } from '../support/request-counter';
import { startNodeRed, startSandboxProcess, stopAll, type RunningProcess } from '../support/processes';
import {
  DEFAULT_RETRY,
  WEBHOOK_PATH,
  expenseEvents,
  concludeRun,
  readOutcome,
  reliabilityFlows,
  removeUserDir,
  sendUntilAcknowledged,
  setFaults,
  unexpectedInboxOutcomes,
  waitForOutcome,
} from './harness';

const EVENTS = 2000;
const FAULTS = { errorRate: 0.2, errorStatus: 503, timeoutRate: 0.05, resetRate: 0.02 };
/**
 * While the events arrive the ERP also throttles (429 with Retry-After) below what the burst asks of it; a
 * limit for the whole run would make the run as slow as the limit.
 */
const BURST_FAULTS = { ...FAULTS, rateLimitPerSecond: 100 };

describe('reliability: the pipeline under injected ERP faults', () => {
  let sandbox: RunningProcess;
  let counter: RequestCounter;
  let nodeRed: RunningProcess & { userDir: string };

  beforeAll(async () => {
    sandbox = await startSandboxProcess();
    counter = await startRequestCounter(sandbox.url);
    // A wide connection: with 5 % of calls hanging until the 2 s timeout, 16 slots would cap the run at ~130 calls/s.
    nodeRed = await startNodeRed(reliabilityFlows({ erpUrl: counter.url, maxConcurrency: 64 }));
  }, 120_000);

  afterAll(async () => {
    await stopAll();
    await counter?.close();
    removeUserDir(nodeRed?.userDir);
  });

  it('brings every accepted event to exactly one final outcome, posting each document once', async () => {
    const events = expenseEvents(EVENTS, 100_000);
    const startedAt = Date.now();
    await setFaults(sandbox.url, BURST_FAULTS);
    const deliveries = await sendUntilAcknowledged(events, {
      target: () => `${nodeRed.url}${WEBHOOK_PATH}`,
      concurrency: 16,
    });
    await setFaults(sandbox.url, FAULTS);
    expect(deliveries.filter((delivery) => delivery.status !== 202)).toEqual([]);

    const input = { sandboxUrl: sandbox.url, nodeRedUrl: nodeRed.url, events, deliveries, startedAt, retries: 0 };
    // Generous for a loaded shared machine (about 2 minutes on a quiet one), and well inside the test's timeout,
    // so a slow run still prints its figures and what is missing.
    const outcome = await waitForOutcome(() => readOutcome({ ...input, retries: counter.repeats() }), {
      timeoutMs: 270_000,
    });
    await setFaults(sandbox.url, {});
    // The host's own record is read after a clean stop: its inbox must agree with the systems at the edges.
    const inbox = await concludeRun('faults', nodeRed, events, outcome);

    expect(outcome.state.counters.faultsInjected).toBeGreaterThan(0);
    expect(outcome.state.counters.rateLimited).toBeGreaterThan(0);
    expect(outcome.lost).toEqual([]);
    expect(outcome.conflicting).toEqual([]);
    expect(outcome.figures.duplicated).toBe(0);
    expect(outcome.figures.completed + outcome.figures.deadLettered).toBe(EVENTS);
    // Every injected fault is one that passes, so a dead letter must have used up all its attempts first.
    const givenUpEarly = outcome.letters
      .filter((letter) => letter.attempts < DEFAULT_RETRY.maximumAttempts)
      .map((letter) => `${letter.docId}: ${letter.error.code} at ${letter.error.nodeId} after ${letter.attempts}`);
    expect(givenUpEarly).toEqual([]);
    expect(inbox.open).toBe(0);
    const expected = (reportId: string) => (outcome.completed.has(reportId) ? 'posted' : 'dead-lettered');
    expect(unexpectedInboxOutcomes(inbox.entries, expected)).toEqual([]);
  }, 480_000);
});
