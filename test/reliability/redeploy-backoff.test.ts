/**
 * Scenario 5, a redeploy in the middle of a backoff: every event fails its first ERP call (503 with
 * Retry-After) and is parked for a later attempt; the same flows are then deployed again in full while the
 * messages wait. The redeployed nodes find the parked retries and run each once: every report is posted and
 * written back exactly once, and after the ERP recovers no call is made twice.
 */
import { startRequestCounter, type RequestCounter } from '../support/request-counter';
import {
  deployFlows,
  startNodeRed,
  startSandboxProcess,
  stopAll,
  waitFor,
  type RunningProcess,
} from '../support/processes';
import {
  WEBHOOK_PATH,
  expenseEvents,
  concludeRun,
  readOutcome,
  reliabilityFlows,
  removeUserDir,
  reportIdOf,
  parkedRetries,
  sendUntilAcknowledged,
  setFaults,
  unexpectedInboxOutcomes,
  waitForOutcome,
} from './harness';

const EVENTS = 150;
const RETRY_AFTER_SECONDS = 3;

describe('reliability: a redeploy while retries wait for their backoff', () => {
  let sandbox: RunningProcess;
  let counter: RequestCounter;
  let nodeRed: RunningProcess & { userDir: string };
  let deployment: ReturnType<typeof reliabilityFlows>;

  beforeAll(async () => {
    sandbox = await startSandboxProcess();
    counter = await startRequestCounter(sandbox.url);
    // No circuit breaker, so the wait is the backoff the ERP asked for (Retry-After), not the breaker's.
    deployment = reliabilityFlows({
      erpUrl: counter.url,
      circuit: 'off',
      retry: { initialSeconds: 0.2, maximumSeconds: 2, maximumAttempts: 8, retryAfterCapSeconds: 10 },
    });
    nodeRed = await startNodeRed(deployment);
  }, 120_000);

  afterAll(async () => {
    await stopAll();
    await counter?.close();
    removeUserDir(nodeRed?.userDir);
  });

  it('runs each parked retry once after the redeploy', async () => {
    const events = expenseEvents(EVENTS, 500_000);
    const startedAt = Date.now();
    await setFaults(sandbox.url, { errorRate: 1, errorStatus: 503, retryAfterSeconds: RETRY_AFTER_SECONDS });
    const deliveries = await sendUntilAcknowledged(events, {
      target: () => `${nodeRed.url}${WEBHOOK_PATH}`,
      concurrency: 8,
    });
    expect(deliveries.filter((delivery) => delivery.status !== 202)).toEqual([]);
    // Every event has failed its budget check and waits, parked in the store, for its next attempt.
    await waitFor(
      'every event to be parked at the budget check',
      async () => ((await parkedRetries(nodeRed.userDir, 'exp-budget')) === EVENTS ? true : undefined),
      { timeoutMs: 60_000, intervalMs: 200 },
    );

    await deployFlows(nodeRed.url, deployment.flows, deployment.credentials);
    await setFaults(sandbox.url, {});
    const recoveredAt = Date.now();

    const outcome = await waitForOutcome(
      () =>
        readOutcome({
          sandboxUrl: sandbox.url,
          nodeRedUrl: nodeRed.url,
          events,
          deliveries,
          startedAt,
          retries: counter.repeats(),
        }),
      { timeoutMs: 90_000 },
    );
    const inbox = await concludeRun('redeploy in backoff', nodeRed, events, outcome);

    expect(outcome.lost).toEqual([]);
    expect(outcome.figures.deadLettered).toBe(0);
    expect(outcome.figures.duplicated).toBe(0);
    expect(outcome.completed).toEqual(new Set(events.map(reportIdOf)));

    // Once the ERP answered again, each parked message ran once: no call after the recovery repeats another.
    const afterRecovery = counter.requests.filter((request) => request.at >= recoveredAt && request.method === 'POST');
    const calls = afterRecovery.map((request) => `${request.url} ${request.body}`);
    expect(calls.length - new Set(calls).size).toBe(0);
    expect(outcome.state.counters.duplicateWritesPrevented).toBe(0);
    expect(inbox.open).toBe(0);
    expect(unexpectedInboxOutcomes(inbox.entries, () => 'posted')).toEqual([]);
  }, 420_000);
});
