/**
 * Scenario 2, kill -9: 5,000 events sent while the Node-RED process is SIGKILLed at several moments and
 * started again on the same user directory (its flows and credentials stay there). The sender sends again
 * whatever got no 202/200, as a webhook provider does; the host must lose nothing it acknowledged: at the end
 * every acknowledged event is posted exactly once and written back, the unfinished ones re-emitted by the
 * intake's recovery after the restart.
 */
import { startRequestCounter, type RequestCounter } from '../support/request-counter';
import { startNodeRed, startSandboxProcess, stopAll, type RunningProcess } from '../support/processes';
import {
  WEBHOOK_PATH,
  expenseEvents,
  concludeRun,
  reEmittedCount,
  readOutcome,
  reliabilityFlows,
  removeUserDir,
  sendUntilAcknowledged,
  unexpectedInboxOutcomes,
  waitForOutcome,
  waitForQuiet,
  waitUntilInboxSettled,
} from './harness';

const EVENTS = 5000;
/** Where in the stream of acknowledgements the host is killed: spread over the run, not evenly. */
const KILL_AT = [0.17, 0.41, 0.63, 0.88].map((share) => Math.round(share * EVENTS));

type NodeRed = RunningProcess & { userDir: string };

describe('reliability: kill -9 of the Node-RED host while events arrive', () => {
  let sandbox: RunningProcess;
  let counter: RequestCounter;
  let userDir: string | undefined;

  beforeAll(async () => {
    sandbox = await startSandboxProcess();
    counter = await startRequestCounter(sandbox.url);
  }, 60_000);

  afterAll(async () => {
    await stopAll();
    await counter?.close();
    removeUserDir(userDir);
  });

  it('posts every acknowledged event exactly once after repeated crashes', async () => {
    let host: NodeRed | undefined = await startNodeRed(reliabilityFlows({ erpUrl: counter.url, leaseSeconds: 30 }));
    userDir = host.userDir;
    const events = expenseEvents(EVENTS, 200_000);
    const startedAt = Date.now();

    // One crash at a time: kill -9, then start the host again on its user directory (no flows passed).
    let crashes = Promise.resolve();
    let killed = 0;
    const crashAndRestart = async () => {
      const victim = host as NodeRed;
      host = undefined;
      await victim.stop('SIGKILL');
      killed += 1;
      host = await startNodeRed({ userDir: victim.userDir });
    };
    const pendingKills = [...KILL_AT];

    const deliveries = await sendUntilAcknowledged(events, {
      target: () => (host ? `${host.url}${WEBHOOK_PATH}` : undefined),
      concurrency: 16,
      ratePerSecond: 75,
      // Five restarts on a loaded machine take a while; the drain below still ends before the test's timeout.
      deadlineMs: 240_000,
      onAcknowledged: (acknowledged) => {
        if (pendingKills.length > 0 && acknowledged >= pendingKills[0]) {
          pendingKills.shift();
          crashes = crashes.then(crashAndRestart);
        }
      },
    });
    // And once more while the last events are still being worked on.
    crashes = crashes.then(crashAndRestart);
    await crashes;
    expect(killed).toBe(KILL_AT.length + 1);
    expect(deliveries.filter((delivery) => delivery.status !== 202 && delivery.status !== 200)).toEqual([]);

    const current = () => host as NodeRed;
    const outcome = await waitForOutcome(
      () =>
        readOutcome({
          sandboxUrl: sandbox.url,
          nodeRedUrl: current().url,
          events,
          deliveries,
          startedAt,
          retries: counter.repeats(),
        }),
      // Generous: on a loaded shared machine five restarts and the recovery after each take minutes. It ends
      // well before the test's own timeout, so a slow run still prints its figures and what is missing.
      { timeoutMs: 300_000 },
    );
    // Longer than the longest retry wait (2 s and jitter) plus a request's timeout (2 s).
    await waitForQuiet(counter, 6_000);
    // A retry of a write-back whose answer was lost can come later than that on a loaded machine.
    await waitUntilInboxSettled(current().userDir);
    const inbox = await concludeRun('kill -9', current(), events, outcome, ` kills=${killed}`);

    // Acknowledged means kept: each event posted exactly once and written back, none parked as a dead letter.
    expect(outcome.figures.accepted).toBe(EVENTS);
    expect(outcome.lost).toEqual([]);
    expect(outcome.figures.deadLettered).toBe(0);
    expect(outcome.figures.duplicated).toBe(0);
    expect(outcome.figures.completed).toBe(EVENTS);
    expect(inbox.open).toBe(0);
    expect(unexpectedInboxOutcomes(inbox.entries, () => 'posted')).toEqual([]);
    // The kills did cut work short: the intake's recovery had to emit some events again.
    expect(reEmittedCount(inbox)).toBeGreaterThan(0);
  }, 600_000);
});
