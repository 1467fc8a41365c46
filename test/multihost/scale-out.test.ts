/**
 * Scale-out: three Node-RED hosts share the work through an MQTT broker and one PostgreSQL store (inbox, ledger,
 * timers, leases), posting to one sandbox ERP. A source sends webhooks to any host; the host commits the event to
 * the shared inbox, answers 202 and publishes a message naming it (finance-event-in "Publish to broker"); the
 * hosts' shared subscription ("Take over published") spreads the events, each taken over by exactly one host.
 * Faults during the run: a `kill -9` of one host (restarted later with the same user directory, so the same
 * client ids), a broker restart and a PostgreSQL restart (the test's own instances, never the machine's services).
 *
 * Proof, read from the sandbox ERP and what the webhooks answered: every event a host accepted (202 or 200) is
 * posted, none twice; every host posted a fair share; every SLA escalation (scheduled work that all hosts
 * schedule) fired once per period.
 *
 * Run by `npm run test:multihost` (and `.ci/run`); MULTIHOST_EVENTS changes the number of events.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { DEFAULT_LEASE_MS } from '../../lib/approval/timers';
import { sampleEvent } from '../../lib/sources/sampleEvents';
import { startNodeRed, startSandboxProcess, stopAll, waitFor, type RunningProcess } from '../support/processes';
import { startMosquitto, startPostgres, type TestBroker, type TestPostgres } from './services';

const EVENTS = Number(process.env.MULTIHOST_EVENTS ?? 10_000);
const HOSTS = 3;
/** Every SLA_EVERY-th event needs a person's approval, which nobody gives: its SLA escalates. */
const SLA_EVERY = 500;
const SLA_HOURS = 0.002; // 7.2 s
const TOPIC = 'finance/expense/submitted';
const WEBHOOK_PATH = '/mh/expenses';
const GROUP = 'pipelines';

interface Seen {
  posted: Map<string, string>; // report id -> first host
  postedTimes: number;
  escalations: Array<{ host: string; reportId: string; step: string; at: number }>;
}

function startCollector(): Promise<{ url: string; seen: Seen; close: () => Promise<void> }> {
  const seen: Seen = { posted: new Map(), postedTimes: 0, escalations: [] };
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      const report = JSON.parse(body) as { kind: string; host: string; reportId: string; step?: string };
      if (report.kind === 'posted') {
        seen.postedTimes += 1;
        if (!seen.posted.has(report.reportId)) seen.posted.set(report.reportId, report.host);
      } else {
        seen.escalations.push({
          host: report.host,
          reportId: report.reportId,
          step: report.step ?? '',
          at: Date.now(),
        });
      }
      res.end('ok');
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      resolve({
        url: `http://127.0.0.1:${port}`,
        seen,
        close: () => new Promise((r) => server.close(() => r())),
      });
    }),
  );
}

/**
 * The flow every host runs, the same on each: a webhook that commits each event to the shared store and publishes
 * it, a shared subscription that takes published events over, the pipeline, and a write-back that ends each event.
 */
function hostFlow(broker: string, pg: TestPostgres, sandboxUrl: string, collector: string) {
  const tab = 'mh-tab';
  const at = (x: number, y: number) => ({ z: tab, x, y });
  const report = (kind: string, extra: string) =>
    `msg.payload = { kind: '${kind}', host: env.get('HOST_ID'), reportId: msg.payload.reportId${extra} };\n` +
    `msg.headers = { 'content-type': 'application/json' };\nreturn msg;`;
  return [
    { id: tab, type: 'tab', label: 'Scale-out' },
    {
      id: 'mh-store',
      type: 'finance-store',
      name: 'Shared store',
      backend: 'postgres',
      pgHost: pg.connection.host,
      pgPort: String(pg.connection.port),
      pgDatabase: pg.connection.database,
      pgUser: pg.connection.user,
      pgSchema: 'finance_sync',
      pgPoolSize: '8',
      maxInboxEntries: '1000000',
      dedupRetentionDays: '7',
    },
    { id: 'mh-source', type: 'finance-source', name: 'Expenses', profile: 'cloudevents', signatureScheme: 'none' },
    {
      id: 'mh-erp',
      type: 'finance-erp',
      name: 'Sandbox ERP',
      dialect: 'sandbox',
      embeddedSandbox: false,
      baseUrl: sandboxUrl,
      company: 'FS-DEMO',
      authType: 'none',
      timeoutMs: '30000',
      maxConcurrency: '8',
      rateLimitRequests: '0',
      rateLimitWindowSeconds: '1',
      retryInitialSeconds: '1',
      retryBackoffCoefficient: '2',
      retryMaximumSeconds: '10',
      retryMaximumAttempts: '30',
      retryAfterCapSeconds: '30',
      circuitBreaker: false,
    },
    {
      id: 'mh-webhook',
      type: 'finance-event-in',
      ...at(120, 40),
      name: 'Expenses webhook, handed to the broker',
      source: 'mh-source',
      store: 'mh-store',
      mode: 'http',
      path: WEBHOOK_PATH,
      publish: true,
      broker,
      publishTopic: TOPIC,
      maxBytes: '1048576',
      // Short, so what a killed host committed but never published (or nobody claimed) is published again soon.
      leaseSeconds: '15',
      recoverySeconds: '2',
      wires: [[], []],
    },
    {
      id: 'mh-in',
      type: 'finance-event-in',
      ...at(120, 100),
      name: 'Expenses from the broker',
      source: 'mh-source',
      store: 'mh-store',
      mode: 'mqtt',
      broker,
      topic: `$share/${GROUP}/${TOPIC}`,
      claim: true,
      // No client id: the default names the node and this instance (host name and user directory), so each
      // host has its own session, the same after a restart.
      maxBytes: '1048576',
      leaseSeconds: '60',
      recoverySeconds: '2',
      wires: [['mh-route'], []],
    },
    {
      id: 'mh-route',
      type: 'switch',
      ...at(300, 100),
      name: 'Needs a person?',
      property: 'payload.reportId',
      propertyType: 'msg',
      rules: [{ t: 'regex', v: '-SLA$' }, { t: 'else' }],
      checkall: 'false',
      outputs: 2,
      wires: [['mh-approval'], ['mh-approved']],
    },
    {
      id: 'mh-approved',
      type: 'change',
      ...at(480, 140),
      name: 'Approved in the source',
      rules: [{ t: 'set', p: 'approval', pt: 'msg', to: '{"state":"approved"}', tot: 'json' }],
      wires: [['mh-post']],
    },
    {
      id: 'mh-post',
      type: 'finance-post',
      ...at(660, 140),
      name: 'Post',
      erp: 'mh-erp',
      store: 'mh-store',
      kind: 'journal',
      postingDate: 'document',
      requireApproval: true,
      wires: [['mh-writeback'], []],
    },
    {
      // Ends each event's journey (finishes its inbox entry), which frees its in-flight slot.
      id: 'mh-writeback',
      type: 'finance-writeback',
      ...at(760, 140),
      name: 'Tell the source',
      store: 'mh-store',
      target: 'mqtt',
      brokerUrl: broker,
      topic: 'mh/writeback/{documentId}',
      retryInitialSeconds: '1',
      retryBackoffCoefficient: '2',
      retryMaximumSeconds: '5',
      retryMaximumAttempts: '100',
      retryAfterCapSeconds: '30',
      wires: [['mh-tag-posted'], []],
    },
    {
      id: 'mh-tag-posted',
      type: 'function',
      ...at(840, 140),
      func: report('posted', ''),
      outputs: 1,
      wires: [['mh-send']],
    },
    {
      id: 'mh-approval',
      type: 'finance-approval',
      ...at(480, 60),
      name: 'Approval',
      store: 'mh-store',
      erp: 'mh-erp',
      matrix: {
        financeController: 'E1003',
        roles: { cfo: 'E1002' },
        slaHours: SLA_HOURS,
        rules: [{ currency: 'EUR', approvers: [{ type: 'managerChain' }] }],
      },
      delegations: [],
      directoryRefreshMinutes: '15',
      slaCheckSeconds: '1',
      wires: [[], [], ['mh-tag-escalated'], []],
    },
    {
      id: 'mh-tag-escalated',
      type: 'function',
      ...at(660, 60),
      func: report(
        'escalated',
        ', step: JSON.stringify([msg.approval.stage, msg.approval.approver, msg.approval.escalations])',
      ),
      outputs: 1,
      wires: [['mh-send']],
    },
    {
      id: 'mh-send',
      type: 'http request',
      ...at(1000, 100),
      method: 'POST',
      ret: 'txt',
      url: `${collector}/seen`,
      wires: [],
    },
  ];
}

/** The host's name in the figures; its MQTT client ids come from its user directory (kept across restarts). */
function hostEnv(host: number): Record<string, string> {
  return { HOST_ID: `host-${host}` };
}

/** Events with ids the test can find in the ERP; every SLA_EVERY-th one waits for a person. */
function eventBody(index: number): { reportId: string; body: Buffer; contentType: string } {
  const sample = sampleEvent({ profile: 'cloudevents', scheme: 'none', seed: index + 1 });
  const body = sample.body as { id: string; data: Record<string, unknown> };
  const reportId = `MH-${index}${index % SLA_EVERY === SLA_EVERY - 1 ? '-SLA' : ''}`;
  body.id = `evt-${reportId}`;
  body.data.reportId = reportId;
  body.data.sourceRef = { ...(body.data.sourceRef as object), id: reportId };
  return { reportId, body: Buffer.from(JSON.stringify(body)), contentType: sample.headers['content-type'] };
}

/**
 * Sends every event to the hosts' webhooks like a source would: round robin, and on a refusal (503 while the
 * store is down), a lost connection or a dead host the same event goes to the next host after a short wait.
 * Resolves with the ids some host answered 202 (accepted) or 200 (already accepted) for.
 */
async function sendAll(urls: () => string[], onAccepted: (count: number) => void): Promise<Set<string>> {
  const accepted = new Set<string>();
  let next = 0;
  const concurrency = 24;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < EVENTS) {
        const index = next++;
        const { reportId, body, contentType } = eventBody(index);
        for (let attempt = 0; ; attempt++) {
          const hosts = urls();
          const url = `${hosts[(index + attempt) % hosts.length]}${WEBHOOK_PATH}`;
          try {
            const response = await fetch(url, {
              method: 'POST',
              body: new Uint8Array(body),
              headers: { 'content-type': contentType },
              signal: AbortSignal.timeout(30_000),
            });
            await response.arrayBuffer();
            if (response.status === 202 || response.status === 200) break;
            if (response.status < 500 && response.status !== 429) {
              throw new Error(`host refused ${reportId} with ${response.status}`);
            }
          } catch (err) {
            if (err instanceof Error && err.message.startsWith('host refused')) throw err;
          }
          if (attempt > 2000) throw new Error(`no host accepted ${reportId}`);
          await new Promise((resolve) => setTimeout(resolve, Math.min(50 * (attempt + 1), 1000)));
        }
        accepted.add(reportId);
        onAccepted(accepted.size);
      }
    }),
  );
  return accepted;
}

interface SandboxState {
  postings: Array<{ externalReference: string; id: string }>;
}

jest.setTimeout(15 * 60 * 1000);

describe('scale-out over MQTT and PostgreSQL', () => {
  let pg: TestPostgres;
  let broker: TestBroker;
  let sandbox: RunningProcess;
  let collector: Awaited<ReturnType<typeof startCollector>>;
  let failureReport: () => string = () => '';

  afterAll(async () => {
    await stopAll();
    await broker?.stop();
    await pg?.stop();
    await collector?.close();
  });

  it(`${EVENTS} events over ${HOSTS} hosts with kill -9, a broker restart and a PostgreSQL restart`, async () => {
    const startedAt = Date.now();
    [pg, broker, sandbox, collector] = await Promise.all([
      startPostgres(),
      startMosquitto(),
      startSandboxProcess(),
      startCollector(),
    ]);
    const hosts = await Promise.all(
      Array.from({ length: HOSTS }, (_, host) =>
        startNodeRed({
          flows: hostFlow(broker.url, pg, sandbox.url, collector.url),
          env: hostEnv(host),
        }),
      ),
    );
    const userDirs = hosts.map((host) => host.userDir);
    // Every host's subscription is in place before the first event (a group without members drops messages).
    await new Promise((resolve) => setTimeout(resolve, 5000));

    const faults: string[] = [];
    const elapsed = () => `${((Date.now() - startedAt) / 1000).toFixed(0)} s`;
    const fault = (text: string) => {
      faults.push(`${text} (${elapsed()})`);
      console.log(faults[faults.length - 1]);
    };
    failureReport = () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'finance-multihost-logs-'));
      hosts.forEach((host, i) => fs.writeFileSync(path.join(dir, `host-${i}.log`), host.output()));
      fs.writeFileSync(path.join(dir, 'broker.log'), broker.log());
      return `logs of the hosts and the broker in ${dir}`;
    };
    const inboxReport = async () => {
      const client = new Client(pg.connection);
      await client.connect();
      try {
        const rows = await client.query(
          `SELECT state, split_part(lease_owner, '@', 1) AS node, held, lease_until < $1 AS expired, count(*) AS n
           FROM finance_sync.inbox GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4`,
          [Date.now()],
        );
        return rows.rows.map((r) => `${r.state} ${r.node} held=${r.held} expired=${r.expired}: ${r.n}`).join('\n');
      } finally {
        await client.end();
      }
    };
    const posted = () => collector.seen.posted.size;
    // The ERP's own record is the proof. The collector hears of each posting through an HTTP call made after the
    // event has finished, so a host killed between the two finishes an event the collector never hears of.
    const erpReferences = async () =>
      ((await (await fetch(`${sandbox.url}/_sandbox/state`)).json()) as SandboxState).postings.map(
        (posting) => posting.externalReference,
      );
    const watched = <T>(waiting: Promise<T>): Promise<T> =>
      waiting.catch(async (err: unknown) => {
        const inErp = await erpReferences().then((references) => new Set(references).size, String);
        console.log(`posted ${posted()} (in the ERP: ${inErp}), accepted ${ackedCount}\n${failureReport()}`);
        await inboxReport().then(
          (report) => console.log(`inbox:\n${report}`),
          (e: unknown) => console.log(`inbox not readable: ${String(e)}`),
        );
        throw err;
      });
    let lastProgress = Date.now();
    const progress = async (fraction: number) =>
      watched(
        waitFor(
          `${Math.round(fraction * 100)} % of the events posted`,
          async () => {
            if (Date.now() - lastProgress >= 15_000) {
              lastProgress = Date.now();
              console.log(`${elapsed()}: ${posted()} posted, ${ackedCount} accepted`);
            }
            return posted() >= fraction * EVENTS * 0.998 ? true : undefined;
          },
          { timeoutMs: 8 * 60_000, intervalMs: 500 },
        ),
      );
    let ackedCount = 0;
    const publishing = sendAll(
      () => hosts.map((host) => host.url),
      (count) => (ackedCount = count),
    );

    await progress(0.25);
    hosts[1].child.kill('SIGKILL');
    fault(`kill -9 host-1 at ${posted()} posted`);

    await progress(0.45);
    await broker.restart();
    fault(`broker restart at ${posted()} posted (${ackedCount} acknowledged)`);

    await progress(0.6);
    await pg.restart();
    fault(`PostgreSQL restart (immediate stop) at ${posted()} posted`);

    // Meanwhile the events host-1 committed or claimed, and the messages the broker queues in its session, are
    // finished by the other hosts once their leases run out (the webhook's 15 s, the subscription's 60 s).
    await progress(0.7);
    hosts[1] = await startNodeRed({ userDir: userDirs[1], env: hostEnv(1) });
    fault(`host-1 back at ${posted()} posted`);

    const acked = await publishing;
    const slaIds = [...acked].filter((id) => id.endsWith('-SLA'));
    const postable = [...acked].filter((id) => !id.endsWith('-SLA'));

    await watched(
      waitFor(
        'every acknowledged event to be posted in the ERP',
        async () => (new Set(await erpReferences()).size >= postable.length ? true : undefined),
        { timeoutMs: 8 * 60_000, intervalMs: 1000 },
      ),
    );
    // Escalations: each waiting approval escalates at least once (several SLA periods pass meanwhile), as the
    // shared store records it. The collector is not the proof: a host killed between escalating and its report
    // to the collector escalated all the same. An SLA timer that the killed host had claimed but not escalated
    // fires again once its claim lapses (DEFAULT_LEASE_MS), so the wait covers one claim.
    const escalationsInStore = async (): Promise<Map<string, number>> => {
      const live = hosts.filter((host) => host.child.exitCode === null && host.child.signalCode === null);
      const answer = await fetch(`${live[0].url}/finance-approval/mh-approval/pending?limit=1000`);
      const { items } = (await answer.json()) as { items: Array<{ reportId: string; escalations: number }> };
      return new Map(items.map((item) => [item.reportId, item.escalations]));
    };
    let notEscalated: string[] = slaIds;
    await watched(
      waitFor(
        'every waiting approval to escalate',
        async () => {
          const escalations = await escalationsInStore();
          notEscalated = slaIds.filter((id) => !((escalations.get(id) ?? 0) > 0));
          return notEscalated.length === 0 ? true : undefined;
        },
        { timeoutMs: DEFAULT_LEASE_MS + 60_000, intervalMs: 1000 },
      ).catch((err: unknown) => {
        const heard = (id: string) => collector.seen.escalations.filter((e) => e.reportId === id).length;
        console.log(`not escalated in the store: ${notEscalated.map((id) => `${id} (heard ${heard(id)})`).join(', ')}`);
        throw err;
      }),
    );
    const seconds = (Date.now() - startedAt) / 1000;

    // Nothing accepted is lost, nothing posted twice: the ERP's own record.
    const references = await erpReferences();
    expect(acked.size).toBe(EVENTS);
    expect(new Set(references).size).toBe(references.length);
    expect(references.length).toBe(postable.length);

    // A fair share per host: the shared subscription spreads the work; host-1 was away for a while.
    const share = new Map<string, number>();
    for (const host of collector.seen.posted.values()) share.set(host, (share.get(host) ?? 0) + 1);
    for (let host = 0; host < HOSTS; host++) {
      expect(share.get(`host-${host}`) ?? 0).toBeGreaterThan(postable.length * 0.1);
    }

    // Scheduled work once per period: no approval escalated twice at the same step, by any host.
    const steps = collector.seen.escalations.map((e) => `${e.reportId}#${e.step}`);
    expect(new Set(steps).size).toBe(steps.length);

    const perHost = [...share.entries()]
      .sort()
      .map(([host, count]) => `${host} ${count} (${((100 * count) / postable.length).toFixed(1)} %)`)
      .join(', ');
    const escalatedBy = new Map<string, number>();
    for (const e of collector.seen.escalations) escalatedBy.set(e.host, (escalatedBy.get(e.host) ?? 0) + 1);
    console.log(
      [
        `scale-out: ${EVENTS} events (${postable.length} posted, ${slaIds.length} waiting for approval) over ${HOSTS} hosts in ${seconds.toFixed(0)} s`,
        `faults: ${faults.join('; ')}`,
        `posted per host: ${perHost}; ${collector.seen.postedTimes - collector.seen.posted.size} re-runs answered from the ledger`,
        `ERP postings ${references.length}, duplicates ${references.length - new Set(references).size}, lost ${postable.length - references.length}`,
        `escalations ${steps.length} (${[...escalatedBy.entries()].map(([h, n]) => `${h} ${n}`).join(', ')}), repeated steps ${steps.length - new Set(steps).size}`,
      ].join('\n'),
    );
  });
});
