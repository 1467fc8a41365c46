/**
 * Scenario 4, dead letters replayed after the cause is fixed: while the ERP answers every call with 501 (a
 * server error that retrying does not cure), the events arriving meanwhile fail for good and wait as dead
 * letters. Once the ERP is fixed, one replay through the dead-letter admin API sends them through the
 * pipeline again, and each is posted exactly once.
 */
import { startRequestCounter, type RequestCounter } from '../support/request-counter';
import { startNodeRed, startSandboxProcess, stopAll, waitFor, type RunningProcess } from '../support/processes';
import {
  WEBHOOK_PATH,
  deadLetters,
  expenseEvents,
  concludeRun,
  readOutcome,
  reliabilityFlows,
  removeUserDir,
  replayDeadLetters,
  reportIdOf,
  sendUntilAcknowledged,
  setFaults,
  unexpectedInboxOutcomes,
  waitForOutcome,
  type Delivery,
  type Outcome,
} from './harness';

const HEALTHY = 100;
const FAILING = 100;

describe('reliability: dead letters replayed after the cause is fixed', () => {
  let sandbox: RunningProcess;
  let counter: RequestCounter;
  let nodeRed: RunningProcess & { userDir: string };

  beforeAll(async () => {
    sandbox = await startSandboxProcess();
    counter = await startRequestCounter(sandbox.url);
    // No circuit breaker: every event that meets the broken ERP fails at once, instead of some waiting for it.
    nodeRed = await startNodeRed(reliabilityFlows({ erpUrl: counter.url, circuit: 'off' }));
  }, 120_000);

  afterAll(async () => {
    await stopAll();
    await counter?.close();
    removeUserDir(nodeRed?.userDir);
  });

  it('keeps the failed events as dead letters and posts each once when they are replayed', async () => {
    const healthy = expenseEvents(HEALTHY, 400_000);
    const failing = expenseEvents(FAILING, 410_000);
    const events = [...healthy, ...failing];
    const startedAt = Date.now();
    const send = (batch: typeof events) =>
      sendUntilAcknowledged(batch, { target: () => `${nodeRed.url}${WEBHOOK_PATH}`, concurrency: 8 });
    const read = (deliveries: Delivery[], batch = events): Promise<Outcome> =>
      readOutcome({
        sandboxUrl: sandbox.url,
        nodeRedUrl: nodeRed.url,
        events: batch,
        deliveries,
        startedAt,
        retries: counter.repeats(),
      });

    const healthyDeliveries = await send(healthy);
    await waitForOutcome(() => read(healthyDeliveries, healthy), { timeoutMs: 60_000 });

    await setFaults(sandbox.url, { errorRate: 1, errorStatus: 501 });
    const failingDeliveries = await send(failing);
    const deliveries = [...healthyDeliveries, ...failingDeliveries];
    const broken = await waitForOutcome(() => read(deliveries), { timeoutMs: 60_000 });
    await setFaults(sandbox.url, {});
    expect(deliveries.filter((delivery) => delivery.status !== 202)).toEqual([]);
    expect(broken.lost).toEqual([]);
    expect(broken.completed).toEqual(new Set(healthy.map(reportIdOf)));
    expect(broken.deadLettered).toEqual(new Set(failing.map(reportIdOf)));
    const letters = broken.letters.filter((letter) => letter.status === 'open');
    expect(new Set(letters.map((letter) => letter.error.code))).toEqual(new Set(['ERP_UNAVAILABLE']));

    const replay = await replayDeadLetters(nodeRed.url, { all: true });
    expect(replay.queued).toBe(letters.length);
    const outcome = await waitForOutcome(() => read(deliveries), {
      timeoutMs: 90_000,
      reached: (current) => current.completed.size === events.length,
    });
    const afterReplay = await waitFor('the letters to be marked replayed', async () => {
      const all = await deadLetters(nodeRed.url);
      return all.every((letter) => letter.status === 'replayed') ? all : undefined;
    });
    const extra = ` letters=${letters.length} replayed=${replay.queued}`;
    const inbox = await concludeRun('dead-letter replay', nodeRed, events, outcome, extra);

    expect(outcome.lost).toEqual([]);
    expect(outcome.figures.completed).toBe(HEALTHY + FAILING);
    expect(outcome.figures.deadLettered).toBe(0);
    expect(outcome.figures.duplicated).toBe(0);
    const notPostedOnce = failing.map(reportIdOf).filter((reportId) => outcome.postingsPerReport.get(reportId) !== 1);
    expect(notPostedOnce).toEqual([]);
    expect(afterReplay).toHaveLength(letters.length);
    // The inbox keeps the first outcome of each event: the replayed ones stay recorded as dead-lettered.
    expect(inbox.open).toBe(0);
    const failedOnce = new Set(failing.map(reportIdOf));
    const expected = (reportId: string) => (failedOnce.has(reportId) ? 'dead-lettered' : 'posted');
    expect(unexpectedInboxOutcomes(inbox.entries, expected)).toEqual([]);
  }, 420_000);
});
