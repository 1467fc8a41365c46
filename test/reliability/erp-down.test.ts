/**
 * Scenario 3, the ERP is down for a while: every call answers 503 for about ten seconds while events keep
 * arriving. The connection's circuit breaker opens, the work waits in the store instead of failing, and once
 * the ERP answers again everything drains: nothing lost, nothing posted twice, nothing dead-lettered.
 */
import { startRequestCounter, type RequestCounter } from '../support/request-counter';
import { startNodeRed, startSandboxProcess, stopAll, type RunningProcess } from '../support/processes';
import {
  DEFAULT_RETRY,
  WEBHOOK_PATH,
  expenseEvents,
  concludeRun,
  pause,
  readOutcome,
  reliabilityFlows,
  removeUserDir,
  sendUntilAcknowledged,
  setFaults,
  unexpectedInboxOutcomes,
  waitForOutcome,
} from './harness';

const EVENTS = 800;
const OUTAGE_MS = 10_000;
/** The outage starts once this many events are in, so it meets work at every step of the pipeline. */
const OUTAGE_AFTER = 150;

describe('reliability: an ERP outage', () => {
  let sandbox: RunningProcess;
  let counter: RequestCounter;
  let nodeRed: RunningProcess & { userDir: string };

  beforeAll(async () => {
    sandbox = await startSandboxProcess();
    counter = await startRequestCounter(sandbox.url);
    // The write-back (to the source, which has no circuit breaker) must outlast the outage on its retries alone:
    // 0.2 + 0.4 + 0.8 + 1.6 + 3 x 6 s is about 21 s of retries against a 10 s outage. With the default 8
    // attempts up to 2 s (about 9 s), a write-back that met the outage's first second was dead-lettered.
    nodeRed = await startNodeRed(
      reliabilityFlows({ erpUrl: counter.url, retry: { ...DEFAULT_RETRY, maximumSeconds: 3, maximumAttempts: 10 } }),
    );
  }, 120_000);

  afterAll(async () => {
    await stopAll();
    await counter?.close();
    removeUserDir(nodeRed?.userDir);
  });

  it('opens the circuit, keeps the work waiting and drains it when the ERP is back', async () => {
    const events = expenseEvents(EVENTS, 300_000);
    const startedAt = Date.now();
    let outage: Promise<void> | undefined;
    const deliveries = await sendUntilAcknowledged(events, {
      target: () => `${nodeRed.url}${WEBHOOK_PATH}`,
      concurrency: 8,
      ratePerSecond: 60,
      onAcknowledged: (acknowledged) => {
        if (acknowledged !== OUTAGE_AFTER) return;
        outage = (async () => {
          await setFaults(sandbox.url, { errorRate: 1, errorStatus: 503 });
          await pause(OUTAGE_MS);
          await setFaults(sandbox.url, {});
        })();
      },
    });
    expect(deliveries.filter((delivery) => delivery.status !== 202)).toEqual([]);
    await outage;

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
      { timeoutMs: 120_000 },
    );
    const inbox = await concludeRun('ERP down', nodeRed, events, outcome);

    expect(nodeRed.output()).toContain('circuit breaker open');
    expect(outcome.state.counters.faultsInjected).toBeGreaterThan(0);
    expect(outcome.lost).toEqual([]);
    expect(outcome.figures.duplicated).toBe(0);
    // An outage is not the document's fault: the work waited for the ERP instead of failing into the dead letters.
    expect(outcome.figures.deadLettered).toBe(0);
    expect(outcome.figures.completed).toBe(EVENTS);
    expect(inbox.open).toBe(0);
    expect(unexpectedInboxOutcomes(inbox.entries, () => 'posted')).toEqual([]);
  }, 420_000);
});
