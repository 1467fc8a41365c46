/**
 * The audit trail and the metrics in a real Node-RED process running the `Expense approval sync` pipeline
 * against the sandbox ERP process, with a finance-audit and a finance-metrics node added to its tab (no
 * wires) and real secrets configured (webhook secret, ERP bearer token, source API token):
 *
 * - a known run (valid events, duplicates, rejected ones, every approval decided) gives exactly the counts
 *   expected, on the Prometheus endpoint; spend per cost center matches the postings in the sandbox;
 * - the trail verifies, holds each event's journey under one correlation id with the ERP's document number;
 * - none of the secrets appears in any file the run wrote (user directory: trail, store, flows) or in its log.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { listTrailFiles } from '../../lib/audit/files';
import { formatMinorUnits, toMinorUnits } from '../../lib/model/money';
import { sampleEvent, type SampleEvent } from '../../lib/sources/sampleEvents';
import { signPayload } from '../../lib/sources/signatures';
import { spawn, spawnSync } from 'node:child_process';
import {
  freePort,
  makeUserDir,
  startNodeRed,
  startSandboxProcess,
  stopAll,
  waitFor,
  type RunningProcess,
} from '../support/processes';
const { deployableFlows } = require('../../flows/deployable-flows');

const VALID = 8;
const DUPLICATES = 2;
// The envelope's source (CloudEvents `source`), which names the system in the metrics.
const SOURCE_SYSTEM = 'urn:finance-sync:samples';
const WEBHOOK_SECRET = `whsec-${randomBytes(12).toString('hex')}`;
const ERP_TOKEN = `erp-token-${randomBytes(12).toString('hex')}`;
const SOURCE_TOKEN = `src-token-${randomBytes(12).toString('hex')}`;
const SECRETS = [WEBHOOK_SECRET, ERP_TOKEN, SOURCE_TOKEN];

interface SandboxState {
  postings: Array<{
    externalReference: string;
    number: string;
    lines: Array<{ amount: { amount: string; currency: string }; dimensions: { costCenter?: string } }>;
  }>;
  writebacks: unknown[];
}

async function post(url: string, headers: Record<string, string>, body: Buffer | string): Promise<number> {
  const response = await fetch(url, {
    method: 'POST',
    headers,
    body: typeof body === 'string' ? body : new Uint8Array(body),
  });
  await response.text();
  return response.status;
}

/** Every file below `dir`, without following the pack's node_modules link. */
function filesBelow(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.name === 'node_modules' || entry.isSymbolicLink()) return [];
    return entry.isDirectory() ? filesBelow(full) : [full];
  });
}

/** The value of one sample of a Prometheus text exposition, or undefined. */
function sample(text: string, name: string, labels: Record<string, string>): string | undefined {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(name + '{')) continue;
    const inside = line.slice(name.length + 1, line.lastIndexOf('}'));
    const parts = inside.split(/,(?=[a-z_]+=")/);
    if (parts.length === wanted.length && wanted.every((w) => parts.includes(w)))
      return line.slice(line.lastIndexOf(' ') + 1);
  }
  return undefined;
}

describe('audit trail and metrics, end to end', () => {
  let sandbox: RunningProcess;
  let nodeRed: RunningProcess & { userDir: string };
  const auditDir = () => path.join(nodeRed.userDir, 'finance-sync', 'audit');
  /** Every record of the trail, oldest first (the trail files only: the directory also holds audit.lock). */
  const trailRecords = () =>
    listTrailFiles(auditDir())
      .flatMap(({ file }) => fs.readFileSync(file, 'utf8').split('\n').filter(Boolean))
      .map((line) => JSON.parse(line) as Record<string, any>);

  beforeAll(async () => {
    sandbox = await startSandboxProcess();
    const { flows, credentials } = deployableFlows(path.resolve(__dirname, '../../examples/pipelines'), {
      sandboxUrl: sandbox.url,
      only: ['Expense approval sync'],
    });
    const erp = flows.find((node: { id: string }) => node.id === 'exp-erp');
    erp.authType = 'bearer';
    credentials['exp-erp'] = { token: ERP_TOKEN };
    const source = flows.find((node: { id: string }) => node.id === 'exp-source');
    source.apiAuthType = 'bearer';
    credentials['exp-source'] = { secret: WEBHOOK_SECRET, token: SOURCE_TOKEN };
    // The pipeline ships with its own audit and metrics nodes; the test only makes the trail rotate early and
    // the endpoint public so it can be read without a token.
    Object.assign(
      flows.find((node: { id: string }) => node.id === 'exp-audit'),
      { maxFileMb: 1 },
    );
    Object.assign(
      flows.find((node: { id: string }) => node.id === 'exp-metrics'),
      { access: 'public', path: 'test/metrics', spendMaxAgeSeconds: 1 },
    );
    nodeRed = await startNodeRed({ flows, credentials });
  }, 120_000);

  afterAll(async () => {
    await stopAll();
  });

  it('counts a known run exactly, verifies its trail, and writes no secret anywhere', async () => {
    const webhook = `${nodeRed.url}/finance/expenses`;
    const valid: SampleEvent[] = Array.from({ length: VALID }, (_, i) =>
      sampleEvent({ profile: 'cloudevents', scheme: 'generic', seed: 7000 + i, secret: WEBHOOK_SECRET }),
    );
    // The flows start after the deploy answers: until the webhook is there, Node-RED answers 404 (nothing counted).
    const first = await waitFor('the webhook to take the first event', async () => {
      const status = await post(webhook, valid[0]!.headers, valid[0]!.rawBody);
      return status === 404 ? undefined : status;
    });
    expect(first).toBe(202);
    for (const event of valid.slice(1)) expect(await post(webhook, event.headers, event.rawBody)).toBe(202);
    for (const event of valid.slice(0, DUPLICATES)) expect(await post(webhook, event.headers, event.rawBody)).toBe(200);
    // Rejected: a wrong signature, and a float amount (re-signed, so only the content is at fault).
    const forged = sampleEvent({ profile: 'cloudevents', scheme: 'generic', seed: 7100, secret: 'not-the-secret' });
    expect(await post(webhook, forged.headers, forged.rawBody)).toBe(401);
    const base = sampleEvent({ profile: 'cloudevents', scheme: 'generic', seed: 7101, secret: WEBHOOK_SECRET });
    const body = JSON.parse(base.rawBody.toString()) as { data: { lines: Array<{ amount: { amount: unknown } }> } };
    body.data.lines[0]!.amount.amount = 12.5;
    const rawBody = Buffer.from(JSON.stringify(body));
    expect(
      await post(
        webhook,
        { 'content-type': 'application/json', ...signPayload('generic', rawBody, WEBHOOK_SECRET) },
        rawBody,
      ),
    ).toBe(400);

    // Decide whatever waits until every valid report is written back.
    const approveUntilWrittenBack = (count: number) =>
      waitFor(
        `${count} reports to be posted and written back`,
        async () => {
          const pending = (await (
            await fetch(`${nodeRed.url}/finance-approval/exp-approval/pending?limit=1000`)
          ).json()) as {
            items: Array<{ reportId: string; approver: string }>;
          };
          for (const item of pending.items) {
            const status = await post(
              `${nodeRed.url}/finance/approvals/decisions`,
              { 'content-type': 'application/json' },
              JSON.stringify({ decision: 'approve', approver: item.approver, reportId: item.reportId }),
            );
            expect(status).toBe(200);
          }
          const current = (await (await fetch(`${sandbox.url}/_sandbox/state`)).json()) as SandboxState;
          return current.writebacks.length >= count && pending.items.length === 0 ? current : undefined;
        },
        { timeoutMs: 120_000, intervalMs: 500 },
      );
    const state = await approveUntilWrittenBack(VALID);
    expect(state.postings).toHaveLength(VALID);

    // ---- the metrics of the known run ----
    const labels = { system: SOURCE_SYSTEM, process: 'expense' };
    let lastScrape = '';
    const text = await waitFor('the last write-back to be counted', async () => {
      const response = await fetch(`${nodeRed.url}/test/metrics`);
      expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      const scraped = await response.text();
      lastScrape = scraped;
      return sample(scraped, 'finance_events_completed_total', labels) === String(VALID) ? scraped : undefined;
    }).catch((err: Error) => {
      throw new Error(`${err.message}\n${lastScrape}`);
    });
    expect(sample(text, 'finance_events_accepted_total', labels)).toBe(String(VALID));
    expect(sample(text, 'finance_duplicates_suppressed_total', labels)).toBe(String(DUPLICATES));
    expect(sample(text, 'finance_postings_total', { ...labels, result: 'first_pass' })).toBe(String(VALID));
    expect(sample(text, 'finance_posting_first_pass_ratio', labels)).toBe('1');
    expect(sample(text, 'finance_exception_ratio', labels)).toBe('0');
    expect(sample(text, 'finance_approval_cycle_seconds_count', labels)).toBe(String(VALID));
    // Rejected events have no trustworthy envelope: they count under the source's profile.
    expect(sample(text, 'finance_events_refused_total', { system: 'cloudevents', process: 'other' })).toBe('2');
    expect(sample(text, 'finance_erp_circuit_state', { erp: 'Sandbox ERP', state: 'closed' })).toBe('1');
    expect(
      Number(sample(text, 'finance_erp_request_duration_seconds_count', { erp: 'Sandbox ERP' })),
    ).toBeGreaterThanOrEqual(2 * VALID);
    expect(sample(text, 'finance_metrics_problems', {})).toBeUndefined(); // no labels: matched below
    expect(text).toMatch(/^finance_metrics_problems 0$/m);

    // Actual spend per cost center equals the sandbox's postings, summed here in minor units.
    const expected = new Map<string, bigint>();
    for (const posting of state.postings) {
      for (const line of posting.lines) {
        const costCenter = line.dimensions.costCenter;
        if (costCenter)
          expected.set(costCenter, (expected.get(costCenter) ?? 0n) + toMinorUnits(line.amount.amount, 'EUR'));
      }
    }
    expect(expected.size).toBeGreaterThan(0);
    for (const [costCenter, minor] of expected) {
      expect(
        sample(text, 'finance_spend_actual', { erp: 'Sandbox ERP', cost_center: costCenter, currency: 'EUR' }),
      ).toBe(formatMinorUnits(minor, 'EUR'));
    }

    // ---- the trail ----
    const cli = path.resolve(__dirname, '../../dist/lib/audit/cli.js');
    const verified = spawnSync(process.execPath, [cli, auditDir(), '--json'], { encoding: 'utf8' });
    expect(verified.status).toBe(0);
    expect(JSON.parse(verified.stdout)).toMatchObject({ ok: true });
    const records = trailRecords();
    const byStep = (step: string) => records.filter((record) => record.step === step);
    expect(byStep('finance-event-in:accepted')).toHaveLength(VALID);
    expect(byStep('finance-event-in:duplicate')).toHaveLength(DUPLICATES);
    expect(byStep('finance-event-in:rejected')).toHaveLength(2);
    expect(byStep('finance-map:valid')[0]).toMatchObject({
      mapping: { profile: 'cloudevents', version: expect.any(String) },
    });
    const posted = byStep('finance-post:posted');
    expect(posted).toHaveLength(VALID);
    const numbers = new Set(state.postings.map((posting) => posting.number));
    for (const record of posted) {
      expect(numbers.has(record.erp.number)).toBe(true);
      // One correlation id from intake to write-back: the same id on this event's intake and write-back records.
      const journey = records
        .filter((other) => other.correlationId === record.correlationId)
        .map((other) => other.step);
      expect(journey).toEqual(
        expect.arrayContaining([
          'finance-event-in:accepted',
          'finance-map:valid',
          'finance-writeback:done',
          'erp:call',
        ]),
      );
    }
    const decisions = records.filter((record) => record.step === 'finance-approval:approved');
    expect(decisions).toHaveLength(VALID);
    expect(decisions[0].approval).toMatchObject({
      state: 'approved',
      submittedAt: expect.any(String),
      decidedAt: expect.any(String),
    });
    expect(byStep('erp:call').every((record) => typeof record.request.status === 'number')).toBe(true);

    // ---- retries through the real nodes: the ERP answers 503 until the faults are cleared ----
    const faults = (body: object) =>
      fetch(`${sandbox.url}/_sandbox/faults`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    await faults({ errorRate: 1, errorStatus: 503 });
    const flaky = sampleEvent({ profile: 'cloudevents', scheme: 'generic', seed: 7300, secret: WEBHOOK_SECRET });
    expect(await post(webhook, flaky.headers, flaky.rawBody)).toBe(202);
    const retried = await waitFor('a retry to be counted', async () => {
      const scraped = await (await fetch(`${nodeRed.url}/test/metrics`)).text();
      const retries = Number(sample(scraped, 'finance_retries_total', labels));
      return retries >= 1 ? retries : undefined;
    });
    await faults({});
    await approveUntilWrittenBack(VALID + 1);
    const afterFaults = await waitFor('the flaky event to complete', async () => {
      const scraped = await (await fetch(`${nodeRed.url}/test/metrics`)).text();
      return sample(scraped, 'finance_events_completed_total', labels) === String(VALID + 1) ? scraped : undefined;
    });
    expect(Number(sample(afterFaults, 'finance_retries_total', labels))).toBeGreaterThanOrEqual(retried);
    expect(sample(afterFaults, 'finance_events_accepted_total', labels)).toBe(String(VALID + 1));
    expect(
      Number(sample(afterFaults, 'finance_erp_requests_total', { erp: 'Sandbox ERP', status: '5xx' })),
    ).toBeGreaterThanOrEqual(1);
    const parked = trailRecords().filter((record) => record.step.endsWith(':retry-parked'));
    expect(parked.length).toBeGreaterThanOrEqual(1);
    expect(parked[0]).toMatchObject({
      error: { code: expect.any(String), httpStatus: 503 },
      retryDueAt: expect.any(String),
    });

    // ---- a restart continues the chain from the last record on disk ----
    const before = JSON.parse(
      spawnSync(process.execPath, [cli, auditDir(), '--json'], { encoding: 'utf8' }).stdout,
    ) as {
      lastSeq: number;
    };
    const output = nodeRed.output();
    await nodeRed.stop();
    nodeRed = await startNodeRed({ userDir: nodeRed.userDir });
    const late = sampleEvent({ profile: 'cloudevents', scheme: 'generic', seed: 7200, secret: WEBHOOK_SECRET });
    const lateStatus = await waitFor('the restarted webhook', async () => {
      const status = await post(`${nodeRed.url}/finance/expenses`, late.headers, late.rawBody);
      return status === 404 ? undefined : status;
    });
    expect(lateStatus).toBe(202);
    const afterRestart = await waitFor('the late event in the trail', async () => {
      const result = spawnSync(process.execPath, [cli, auditDir(), '--json'], { encoding: 'utf8' });
      const parsed = JSON.parse(result.stdout) as { ok: boolean; lastSeq: number };
      return parsed.lastSeq > before.lastSeq ? { status: result.status, ...parsed } : undefined;
    });
    expect(afterRestart).toMatchObject({ status: 0, ok: true });

    // ---- no secret in anything the run wrote ----
    const files = filesBelow(nodeRed.userDir);
    expect(files.some((file) => file.includes(`${path.sep}audit${path.sep}`))).toBe(true);
    expect(files.some((file) => file.includes(`${path.sep}store${path.sep}`))).toBe(true);
    for (const file of files) {
      const content = fs.readFileSync(file);
      for (const secret of SECRETS) {
        expect({ file: path.relative(nodeRed.userDir, file), leaks: content.includes(secret) }).toEqual({
          file: path.relative(nodeRed.userDir, file),
          leaks: false,
        });
      }
    }
    const snapshotText = text + output + nodeRed.output();
    for (const secret of SECRETS) expect(snapshotText.includes(secret)).toBe(false);
  }, 240_000);

  it('serves the admin-protected endpoint only to a token with finance-metrics.read', async () => {
    const userDir = makeUserDir();
    const settings = path.join(userDir, 'settings.js');
    fs.writeFileSync(
      settings,
      `const base = require(${JSON.stringify(path.resolve(__dirname, '../../flows/settings.js'))});
module.exports = { ...base, adminAuth: { type: 'credentials', users: [], tokens: (token) => Promise.resolve(
  token === 'reader' ? { username: 'prometheus', permissions: ['finance-metrics.read'] }
  : token === 'other' ? { username: 'someone', permissions: ['flows.read'] } : null) } };\n`,
    );
    fs.writeFileSync(
      path.join(userDir, 'flows.json'),
      JSON.stringify([
        { id: 'adm-tab', type: 'tab', label: 'metrics' },
        {
          id: 'adm-metrics',
          type: 'finance-metrics',
          z: 'adm-tab',
          x: 100,
          y: 100,
          access: 'admin',
          path: 'private/metrics',
          spendMaxAgeSeconds: 60,
          wires: [[]],
        },
      ]),
    );
    const port = await freePort();
    const child = spawn(
      process.execPath,
      [require.resolve('node-red/red.js'), '--userDir', userDir, '--settings', settings],
      {
        stdio: 'ignore',
        env: { ...process.env, PORT: String(port), NODE_RED_LOG_LEVEL: 'warn' },
      },
    );
    try {
      const url = `http://127.0.0.1:${port}/finance-metrics/private/metrics`;
      const asReader = await waitFor('the admin metrics endpoint', async () => {
        const response = await fetch(url, { headers: { authorization: 'Bearer reader' } });
        return response.status === 200 ? response.text() : undefined;
      });
      expect(asReader).toMatch(/^# HELP finance_events_accepted_total/);
      expect((await fetch(url)).status).toBe(401);
      expect((await fetch(url, { headers: { authorization: 'Bearer other' } })).status).toBe(401);
      expect((await fetch(url, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    } finally {
      child.kill('SIGKILL');
      fs.rmSync(userDir, { recursive: true, force: true });
    }
  }, 120_000);
});
