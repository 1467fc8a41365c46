/**
 * What the fault-injection scenarios share: the `Expense approval sync` example deployed for unattended runs,
 * a sender that keeps re-sending until the pipeline acknowledges, and the proof read from the systems at the
 * edges (the sandbox ERP's postings and write-backs, the dead-letter admin API, the host's inbox).
 *
 * The deployment differs from the example in what a test needs and nothing else:
 * - every report is approved automatically (a huge auto-approval threshold, and the budget verdict is taken
 *   off the message before the approval node), so no person is needed and each accepted event has exactly
 *   two possible final outcomes: posted and written back, or dead-lettered. The budget check still runs, so
 *   its ERP calls meet the faults like the others;
 * - short retry intervals (ERP connection and write-back), a short timeout and the connection width of the scenario
 *   for both the ERP and the source's API (write-back), frequent recovery passes and the circuit breaker and lease
 *   of the scenario, so faults cost seconds instead of minutes;
 * - the ERP and the write-back target are reached through a request counter (test/support/request-counter.ts).
 */
import type { RequestCounter } from '../support/request-counter';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { sampleEvent, type SampleEvent } from '../../lib/sources/sampleEvents';
import { waitFor } from '../support/processes';
const { deployableFlows, DEMO_WEBHOOK_SECRET } = require('../../flows/deployable-flows');

/** The parts of an inbox entry (lib/reliability/store.ts) the proof reads. */
export interface InboxEntry {
  state: 'open' | 'final';
  attempts: number;
  leaseUntil?: number;
  outcome?: { status: string };
}

interface StoreReader {
  get(key: string): Promise<InboxEntry | undefined>;
  countOpen(): Promise<number>;
  kvList(
    namespace: string,
    options: { after?: string; limit: number },
  ): Promise<Array<{ key: string; value: unknown }>>;
  close(): Promise<void>;
}

/** The built store under dist/, the code the Node-RED process wrote the inbox with. */
const builtStore = require('../../dist/lib/reliability/store') as {
  openStore(options: { path: string }): StoreReader;
  inboxKey(source: string, id: string): string;
};

export const WEBHOOK_PATH = '/finance/expenses';
export const DEAD_LETTER_NODE = 'exp-dead-letter';
/** The postings' externalReference is this system, a colon and the report id. */
export const SOURCE_SYSTEM = 'cloudevents:urn:finance-sync:samples';

type FlowNode = Record<string, any> & { id: string; type: string };

export interface PipelineOptions {
  /** Where the ERP connection and the write-back target point (the request counter in front of the sandbox). */
  erpUrl: string;
  /** Timeout and width of the ERP connection and of the source's API connection alike. */
  timeoutMs?: number;
  maxConcurrency?: number;
  retry?: { initialSeconds: number; maximumSeconds: number; maximumAttempts: number; retryAfterCapSeconds: number };
  circuit?: { failureRate: number; minimumCalls: number; windowSeconds: number; openSeconds: number } | 'off';
  /** How long an emitted event may stay unfinished before recovery emits it again; the example's when left out. */
  leaseSeconds?: number;
  /** How often the intake looks for such events. */
  recoverySeconds?: number;
  replayRatePerSecond?: number;
}

export const DEFAULT_RETRY = { initialSeconds: 0.2, maximumSeconds: 2, maximumAttempts: 8, retryAfterCapSeconds: 3 };
export const DEFAULT_CIRCUIT = { failureRate: 50, minimumCalls: 20, windowSeconds: 10, openSeconds: 2 };

/** The example pipeline with the settings above; ids are the example's own (exp-*). */
export function reliabilityFlows(options: PipelineOptions): {
  flows: FlowNode[];
  credentials: Record<string, Record<string, string>>;
} {
  const { flows, credentials } = deployableFlows(path.resolve(__dirname, '../../examples/pipelines'), {
    sandboxUrl: options.erpUrl,
    only: ['Expense approval sync'],
  }) as { flows: FlowNode[]; credentials: Record<string, Record<string, string>> };
  const node = (id: string): FlowNode => {
    const found = flows.find((candidate) => candidate.id === id);
    if (!found) throw new Error(`The example has no node ${id}; the reliability harness needs updating.`);
    return found;
  };

  const retry = options.retry ?? DEFAULT_RETRY;
  // The dialog fields of a retry policy, shared by finance-erp and finance-writeback (whose remote is the source).
  const retryFields = {
    retryInitialSeconds: String(retry.initialSeconds),
    retryBackoffCoefficient: '2',
    retryMaximumSeconds: String(retry.maximumSeconds),
    retryMaximumAttempts: String(retry.maximumAttempts),
    retryAfterCapSeconds: String(retry.retryAfterCapSeconds),
  };
  const circuit = options.circuit ?? DEFAULT_CIRCUIT;
  Object.assign(node('exp-writeback'), retryFields);
  Object.assign(node('exp-erp'), {
    timeoutMs: String(options.timeoutMs ?? 2000),
    maxConcurrency: String(options.maxConcurrency ?? 16),
    ...retryFields,
    ...(circuit === 'off'
      ? { circuitBreaker: false }
      : {
          circuitBreaker: true,
          circuitFailureRate: String(circuit.failureRate),
          circuitMinimumCalls: String(circuit.minimumCalls),
          circuitWindowSeconds: String(circuit.windowSeconds),
          circuitOpenSeconds: String(circuit.openSeconds),
        }),
  });
  // The write-back reaches the same sandbox through the source's API connection, which meets the same faults:
  // it gets the same timeout and width, or every hanging write-back would hold one of 8 slots for 30 s.
  Object.assign(node('exp-source'), {
    apiTimeoutMs: String(options.timeoutMs ?? 2000),
    apiMaxConcurrency: String(options.maxConcurrency ?? 16),
  });
  Object.assign(node('exp-in'), {
    ...(options.leaseSeconds === undefined ? {} : { leaseSeconds: String(options.leaseSeconds) }),
    recoverySeconds: String(options.recoverySeconds ?? 2),
  });
  node('exp-approval').matrix.autoApproveBelow = { EUR: '100000000.00' };
  Object.assign(node(DEAD_LETTER_NODE), { ratePerSecond: String(options.replayRatePerSecond ?? 200) });

  // Every budget verdict goes on to the approval without msg.budget: an exceeded budget would otherwise
  // need the finance controller, a person.
  node('exp-budget').wires = [['rel-ignore-budget'], ['rel-ignore-budget'], ['rel-ignore-budget']];
  flows.push({
    id: 'rel-ignore-budget',
    type: 'change',
    z: 'exp-tab',
    x: 760,
    y: 40,
    name: 'Test: approve regardless of budget',
    rules: [
      { t: 'delete', p: 'budget', pt: 'msg' },
      { t: 'delete', p: 'overBudget', pt: 'msg' },
    ],
    wires: [['exp-approval']],
  });
  return { flows, credentials };
}

// ---- events and the sender --------------------------------------------------------------------------

/** `count` signed CloudEvents with report ids ER-<seed>, seed = firstSeed, firstSeed + 1, ... */
export function expenseEvents(count: number, firstSeed: number): SampleEvent[] {
  return Array.from({ length: count }, (_, index) =>
    sampleEvent({ profile: 'cloudevents', scheme: 'generic', seed: firstSeed + index, secret: DEMO_WEBHOOK_SECRET }),
  );
}

export const reportIdOf = (event: SampleEvent): string => event.expected.reportId;

export interface Delivery {
  /**
   * 202 accepted, 200 accepted before (a re-delivery), the refusal that stopped the sender, or, for an event
   * still not acknowledged at the sender's deadline, the last answer it got (0: none).
   */
  status: number;
  /** HTTP requests this event took, including those that got no answer. */
  tries: number;
}

export interface SendOptions {
  /** The webhook's URL now, or undefined while the host is down (the sender waits). */
  target: () => string | undefined;
  concurrency: number;
  /** Called after each acknowledgement (with the number so far): scenarios act at points of the stream. */
  onAcknowledged?: (acknowledged: number) => void;
  /** Events per second at most, over the whole run; unpaced when left out. */
  ratePerSecond?: number;
  /**
   * How long after the start the sender keeps trying (default 180 s): a host that never acknowledges an event
   * fails the scenario with that event's last answer, instead of hanging until the test's timeout.
   */
  deadlineMs?: number;
}

/**
 * Sends every event until it is acknowledged: 202, or 200 for one the pipeline had accepted already (a
 * sender at least once, as webhook providers are). No answer, 404 (a host still starting its flows) and 5xx
 * are tried again until the deadline; any other answer is a refusal, recorded and not retried.
 */
export async function sendUntilAcknowledged(events: SampleEvent[], options: SendOptions): Promise<Delivery[]> {
  const deliveries: Delivery[] = new Array(events.length);
  const started = Date.now();
  const giveUpAt = started + (options.deadlineMs ?? 180_000);
  let next = 0;
  let acknowledged = 0;

  async function deliver(event: SampleEvent): Promise<Delivery> {
    let lastStatus = 0;
    for (let tries = 1; ; tries += 1) {
      if (Date.now() > giveUpAt) return { status: lastStatus, tries: tries - 1 };
      const url = options.target();
      if (url !== undefined) {
        lastStatus = 0;
        try {
          const response = await fetch(url, {
            method: 'POST',
            headers: event.headers,
            body: new Uint8Array(event.rawBody),
            signal: AbortSignal.timeout(10_000),
          });
          await response.arrayBuffer();
          lastStatus = response.status;
          const retryable = response.status === 404 || response.status >= 500;
          if (!retryable) return { status: response.status, tries };
        } catch {
          // No answer (the host died mid-request, or was not listening): send again.
        }
      }
      await pause(100);
    }
  }

  async function worker(): Promise<void> {
    while (next < events.length) {
      const index = next++;
      if (options.ratePerSecond !== undefined) {
        const notBefore = started + (index * 1000) / options.ratePerSecond;
        if (notBefore > Date.now()) await pause(notBefore - Date.now());
      }
      deliveries[index] = await deliver(events[index]);
      if (deliveries[index].status === 202 || deliveries[index].status === 200) {
        acknowledged += 1;
        options.onAcknowledged?.(acknowledged);
      }
    }
  }

  await Promise.all(Array.from({ length: options.concurrency }, () => worker()));
  return deliveries;
}

/**
 * Waits until the ERP has seen no request for `quietMs` (at most `timeoutMs`): a retry parked just before the
 * last write-back was recorded (its answer lost to a timeout or a kill) must run before the host is stopped and
 * its inbox read, or the entry it would finish still reads as open.
 */
export async function waitForQuiet(counter: RequestCounter, quietMs: number, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let seen = counter.requests.length;
  let quietSince = Date.now();
  while (Date.now() < deadline && Date.now() - quietSince < quietMs) {
    await pause(250);
    if (counter.requests.length !== seen) {
      seen = counter.requests.length;
      quietSince = Date.now();
    }
  }
}

export function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// ---- what the systems at the edges say ------------------------------------------------------------------

export interface SandboxState {
  postings: Array<{ externalReference: string; number: string; id: string }>;
  writebacks: Array<{ documentId: string; status: string; erpRef?: { number?: string } }>;
  counters: {
    requests: number;
    writes: number;
    duplicateWritesPrevented: number;
    faultsInjected: number;
    rateLimited: number;
  };
}

export interface Letter {
  id: string;
  status: 'open' | 'replayed' | 'purged';
  docId?: string;
  source?: string;
  attempts: number;
  error: { code: string; message: string; nodeId?: string };
}

export async function sandboxState(sandboxUrl: string): Promise<SandboxState> {
  const response = await fetch(`${sandboxUrl}/_sandbox/state`);
  if (!response.ok) throw new Error(`sandbox state: ${response.status}`);
  return (await response.json()) as SandboxState;
}

export async function setFaults(sandboxUrl: string, faults: Record<string, number>): Promise<void> {
  const response = await fetch(`${sandboxUrl}/_sandbox/faults`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(faults),
  });
  if (!response.ok) throw new Error(`sandbox faults: ${response.status} ${await response.text()}`);
}

/** Every letter of the pipeline's dead-letter node, through its admin API (all pages). */
export async function deadLetters(nodeRedUrl: string): Promise<Letter[]> {
  const letters: Letter[] = [];
  let cursor: string | undefined;
  do {
    const query = new URLSearchParams({ limit: '500', ...(cursor ? { cursor } : {}) });
    const response = await fetch(`${nodeRedUrl}/finance-dead-letter/${DEAD_LETTER_NODE}/letters?${query}`);
    if (!response.ok) throw new Error(`dead letters: ${response.status} ${await response.text()}`);
    const page = (await response.json()) as { letters: Letter[]; nextCursor?: string };
    letters.push(...page.letters);
    cursor = page.nextCursor;
  } while (cursor);
  return letters;
}

export async function replayDeadLetters(
  nodeRedUrl: string,
  selection: object,
): Promise<{ ids: string[]; queued: number }> {
  const response = await fetch(`${nodeRedUrl}/finance-dead-letter/${DEAD_LETTER_NODE}/replay`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(selection),
  });
  if (!response.ok) throw new Error(`replay: ${response.status} ${await response.text()}`);
  return (await response.json()) as { ids: string[]; queued: number };
}

export interface Figures {
  events: number;
  /** Events the pipeline acknowledged (202, or 200 for a re-delivery of an accepted one). */
  accepted: number;
  /** Accepted events posted and written back. */
  completed: number;
  /** Postings and write-backs beyond the first per document: effects applied twice. */
  duplicated: number;
  /** Accepted events that are neither completed nor waiting as an open dead letter. */
  lost: number;
  /** Accepted events not completed whose message waits as an open dead letter. */
  deadLettered: number;
  /** ERP and write-back calls that repeated an earlier identical call. */
  retries: number;
  /** Failures the sandbox injected: errors, timeouts, resets and 429s. */
  faults: number;
  seconds: number;
}

export interface Outcome {
  figures: Figures;
  /** Report ids by what became of them. */
  completed: Set<string>;
  deadLettered: Set<string>;
  lost: string[];
  /** Completed and also waiting as an open dead letter: two outcomes for one event. */
  conflicting: string[];
  postingsPerReport: Map<string, number>;
  writebacksPerReport: Map<string, number>;
  letters: Letter[];
  state: SandboxState;
}

export interface OutcomeInput {
  sandboxUrl: string;
  nodeRedUrl: string;
  events: SampleEvent[];
  deliveries: Delivery[];
  retries: number;
  startedAt: number;
}

export async function readOutcome(input: OutcomeInput): Promise<Outcome> {
  const [state, letters] = await Promise.all([sandboxState(input.sandboxUrl), deadLetters(input.nodeRedUrl)]);
  return outcomeOf(input, state, letters);
}

export function outcomeOf(input: OutcomeInput, state: SandboxState, letters: Letter[]): Outcome {
  const prefix = `${SOURCE_SYSTEM}:`;
  const postingsPerReport = countBy(
    state.postings.filter((posting) => posting.externalReference.startsWith(prefix)),
    (posting) => posting.externalReference.slice(prefix.length),
  );
  const writebacksPerReport = countBy(
    state.writebacks.filter((writeback) => writeback.status === 'posted'),
    (writeback) => writeback.documentId,
  );
  const openLetters = new Set(letters.filter((letter) => letter.status === 'open').map((letter) => letter.docId ?? ''));
  const accepted = input.events.filter((_, index) => [200, 202].includes(input.deliveries[index]?.status));
  const completed = new Set<string>();
  const deadLettered = new Set<string>();
  const lost: string[] = [];
  const conflicting: string[] = [];
  for (const event of accepted) {
    const reportId = reportIdOf(event);
    const done = (postingsPerReport.get(reportId) ?? 0) > 0 && (writebacksPerReport.get(reportId) ?? 0) > 0;
    if (done) completed.add(reportId);
    if (openLetters.has(reportId)) {
      if (done) conflicting.push(reportId);
      else deadLettered.add(reportId);
    }
    if (!done && !openLetters.has(reportId)) lost.push(reportId);
  }
  const extra = (counts: Map<string, number>) => [...counts.values()].reduce((total, n) => total + n - 1, 0);
  return {
    figures: {
      events: input.events.length,
      accepted: accepted.length,
      completed: completed.size,
      duplicated: extra(postingsPerReport) + extra(writebacksPerReport),
      lost: lost.length,
      deadLettered: deadLettered.size,
      retries: input.retries,
      faults: state.counters.faultsInjected + state.counters.rateLimited,
      seconds: Math.round((Date.now() - input.startedAt) / 100) / 10,
    },
    completed,
    deadLettered,
    lost,
    conflicting,
    postingsPerReport,
    writebacksPerReport,
    letters,
    state,
  };
}

/** The usual end of a scenario: every accepted event is completed or waits as an open dead letter. */
export const everyEventFinal = (outcome: Outcome): boolean => outcome.lost.length === 0;

/**
 * Polls the outcome until `reached` holds, and answers that reading; on timeout it answers the last reading
 * instead of failing, so the assertions that follow show what is missing rather than just "timed out".
 */
export async function waitForOutcome(
  read: () => Promise<Outcome>,
  { timeoutMs, reached = everyEventFinal }: { timeoutMs: number; reached?: (outcome: Outcome) => boolean },
): Promise<Outcome> {
  let last: Outcome | undefined;
  try {
    return await waitFor(
      'the expected outcome',
      async () => {
        last = await read();
        return reached(last) ? last : undefined;
      },
      { timeoutMs, intervalMs: 1000 },
    );
  } catch (err) {
    if (!last) throw err;
    return last;
  }
}

/**
 * What went wrong, in one line per kind, for the log of a failing run: dead letters by node, code and attempts,
 * the events without an outcome by how far they got (ERP posting, inbox state, deliveries), and the retries
 * still parked when the host stopped.
 */
export function diagnosis(outcome: Outcome, record?: HostRecord): string[] {
  const inbox = record?.entries;
  const letters = countBy(
    outcome.letters.filter((letter) => letter.status === 'open'),
    (letter) =>
      `dead letter at ${letter.error.nodeId ?? '?'}: ${letter.error.code} after ${letter.attempts} attempt(s)`,
  );
  const lost = countBy(outcome.lost, (reportId) => {
    const entry = inbox?.get(reportId);
    const posted = (outcome.postingsPerReport.get(reportId) ?? 0) > 0 ? 'posted, not written back' : 'not posted';
    const where = entry
      ? `inbox ${entry.state}${entry.outcome ? ` (${entry.outcome.status})` : ''}, emitted ${entry.attempts} time(s)`
      : 'inbox not read';
    return `lost, ${posted}, ${where}`;
  });
  const parked = [...(record?.parked ?? [])].map(([nodeId, count]): [string, number] => [
    `still parked at ${nodeId}`,
    count,
  ]);
  return [...letters, ...lost, ...parked].map(([kind, count]) => `${count} x ${kind}`);
}

export function figuresLine(scenario: string, figures: Figures): string {
  const { accepted, completed, duplicated, lost, deadLettered, retries, faults, events, seconds } = figures;
  return (
    `reliability ${scenario}: accepted=${accepted} completed=${completed} duplicated=${duplicated} lost=${lost} ` +
    `dead-lettered=${deadLettered} retries=${retries} faults=${faults} events=${events} seconds=${seconds}`
  );
}

// ---- the host's inbox ---------------------------------------------------------------------------

/** The nodes that park failed calls for a retry, each in the store namespace `retry:<node id>`. */
const RETRYING_NODES = ['exp-budget', 'exp-post', 'exp-writeback'];

export interface HostRecord {
  /** The inbox entry of each event, by report id. */
  entries: Map<string, InboxEntry | undefined>;
  /** Open inbox entries, of any event. */
  open: number;
  /** Retries still parked, by node id (only nodes with some). */
  parked: Map<string, number>;
}

/** What a stopped host's store holds (the finance-store default location under its user directory). */
export async function readHostStore(userDir: string, events: SampleEvent[]): Promise<HostRecord> {
  return withHostStore(userDir, async (store) => {
    const entries = new Map<string, InboxEntry | undefined>();
    for (const event of events) {
      const body = event.body as { source: string; id: string };
      entries.set(reportIdOf(event), await store.get(builtStore.inboxKey(body.source, body.id)));
    }
    const parked = new Map<string, number>();
    for (const nodeId of RETRYING_NODES) {
      const count = await countParked(store, nodeId);
      if (count > 0) parked.set(nodeId, count);
    }
    return { entries, open: await store.countOpen(), parked };
  });
}

/** Runs `read` on the store of the host with user directory `userDir` (the finance-store default location). */
async function withHostStore<T>(userDir: string, read: (store: StoreReader) => Promise<T>): Promise<T> {
  const store = builtStore.openStore({ path: path.join(userDir, 'finance-sync', 'store') });
  try {
    return await read(store);
  } finally {
    await store.close();
  }
}

/**
 * The retries parked at a node of a running host. LMDB lets several processes read one environment while
 * another writes, so the test can look while Node-RED works.
 */
export async function parkedRetries(userDir: string, nodeId: string): Promise<number> {
  return withHostStore(userDir, (store) => countParked(store, nodeId));
}

/**
 * Waits (at most `timeoutMs`) until the running host's inbox has no open entry. After every event is written
 * back, an entry can still be open for a while: a write-back whose answer was lost to a timeout or a kill is
 * parked and retried, and only that retry (answered as already done) finishes the entry. On a loaded machine
 * that retry can come later than any fixed quiet period. Resolves with the open count it saw last.
 */
export async function waitUntilInboxSettled(userDir: string, timeoutMs = 60_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = await withHostStore(userDir, (store) => store.countOpen());
    if (open === 0 || Date.now() >= deadline) return open;
    await pause(500);
  }
}

/** Parked retries of a node, by the retry's own id (a retry being moved to its next due time shows up twice). */
async function countParked(store: StoreReader, nodeId: string): Promise<number> {
  const pageSize = 1000;
  const ids = new Set<string>();
  let after: string | undefined;
  for (;;) {
    const page = await store.kvList(`retry:${nodeId}`, { limit: pageSize, ...(after === undefined ? {} : { after }) });
    for (const entry of page) ids.add((entry.value as { id: string }).id);
    if (page.length < pageSize) return ids.size;
    after = page[page.length - 1].key;
  }
}

/**
 * Ends a scenario's run: stops the host cleanly (so its inbox is complete on disk), reads the inbox entry of
 * every event, and logs the figures (with the number of events emitted more than once), plus what went wrong
 * when anything did.
 */
export async function concludeRun(
  scenario: string,
  host: { stop(): Promise<void>; userDir: string },
  events: SampleEvent[],
  outcome: Outcome,
  extra = '',
): Promise<HostRecord> {
  await host.stop();
  const record = await readHostStore(host.userDir, events);
  const problems = diagnosis(outcome, record);
  const reEmitted = ` re-emitted=${reEmittedCount(record)}`;
  console.log([`${figuresLine(scenario, outcome.figures)}${reEmitted}${extra}`, ...problems.slice(0, 20)].join('\n  '));
  return record;
}

/** Events the host emitted more than once (recovery after a crash or an expired lease). */
export function reEmittedCount(record: HostRecord): number {
  return [...record.entries.values()].filter((entry) => (entry?.attempts ?? 0) > 1).length;
}

/** Events whose inbox entry is not final with the expected outcome status: "<report id>: <state> <status>". */
export function unexpectedInboxOutcomes(
  entries: Map<string, InboxEntry | undefined>,
  expectedStatus: (reportId: string) => string,
): string[] {
  return [...entries]
    .filter(([reportId, entry]) => entry?.state !== 'final' || entry.outcome?.status !== expectedStatus(reportId))
    .map(([reportId, entry]) => `${reportId}: ${entry?.state ?? 'missing'} ${entry?.outcome?.status ?? ''}`.trim());
}

export function removeUserDir(userDir: string | undefined): void {
  if (userDir) fs.rmSync(userDir, { recursive: true, force: true });
}

function countBy<T>(items: T[], keyOf: (item: T) => string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(keyOf(item), (counts.get(keyOf(item)) ?? 0) + 1);
  return counts;
}
