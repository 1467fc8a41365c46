/**
 * A stop of Node-RED while a posting is under way. Node-RED closes all nodes at once: the finance-audit node
 * is closed at once, while finance-post waits (up to 3 s) for its ERP call to answer. What finance-post then
 * reports must still reach the trail: it is held for the next recorder, kept on disk when the process exits,
 * and written by the finance-audit node of the next start, before anything of that start.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { listTrailFiles } from '../../lib/audit/files';
import { HANDOVER_FILE_NAME } from '../../lib/audit/recorder';
import { verifyTrail } from '../../lib/audit/verify';
import { sampleEvent } from '../../lib/sources/sampleEvents';
import { signPayload } from '../../lib/sources/signatures';
import { startNodeRed, startSandboxProcess, stopAll, waitFor, type RunningProcess } from '../support/processes';
const { deployableFlows } = require('../../flows/deployable-flows');

const SECRET = 'audit-stop-test-secret';
/** Long enough to send the stop while the posting waits for it; short enough for finance-post's 3 s close. */
const ERP_LATENCY_MS = 1500;

type AuditRecord = Record<string, any>;

/** A small report of one line. */
function smallReport(): { headers: Record<string, string>; rawBody: Buffer; reportId: string } {
  const event = sampleEvent({ profile: 'cloudevents', scheme: 'generic', seed: 3, secret: SECRET });
  const body = event.body as { data: { reportId: string; total: { amount: string }; lines: any[] } };
  body.data.lines = body.data.lines.slice(0, 1);
  body.data.lines[0].amount.amount = '120.00';
  body.data.total.amount = '120.00';
  const rawBody = Buffer.from(JSON.stringify(body));
  return {
    headers: { 'content-type': 'application/json', ...signPayload('generic', rawBody, SECRET) },
    rawBody,
    reportId: body.data.reportId,
  };
}

describe('audit trail across a stop of Node-RED', () => {
  let sandbox: RunningProcess;

  afterAll(async () => {
    await stopAll();
  });

  it('records what finance-post reports while Node-RED stops, at the next start', async () => {
    sandbox = await startSandboxProcess();
    const { flows, credentials } = deployableFlows(path.resolve(__dirname, '../../examples/pipelines'), {
      sandboxUrl: sandbox.url,
      only: ['Expense approval sync'],
    });
    credentials['exp-source'] = { secret: SECRET };
    const first = await startNodeRed({ flows, credentials });
    const auditDir = path.join(first.userDir, 'finance-sync', 'audit');
    const records = (): AuditRecord[] =>
      listTrailFiles(auditDir)
        .flatMap(({ file }) => fs.readFileSync(file, 'utf8').split('\n').filter(Boolean))
        .map((line) => JSON.parse(line) as AuditRecord);

    const faults = await fetch(`${sandbox.url}/_sandbox/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ latencyMs: ERP_LATENCY_MS }),
    });
    expect(faults.status).toBe(200);
    const report = smallReport();
    const answer = await waitFor('the webhook to take the report', async () => {
      const response = await fetch(`${first.url}/finance/expenses`, {
        method: 'POST',
        headers: report.headers,
        body: new Uint8Array(report.rawBody),
      });
      return response.status === 404 ? undefined : response.status;
    });
    expect(answer).toBe(202);

    // Over the sandbox's budget, so people decide (each stage in turn); finance-post's ERP call starts then.
    const approved = await waitFor(
      'the approval',
      async () => {
        const response = await fetch(`${first.url}/finance-approval/exp-approval/pending`);
        const body = (await response.json()) as { items: Array<{ reportId: string; approver: string }> };
        for (const item of body.items) {
          const decided = await fetch(`${first.url}/finance/approvals/decisions`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ decision: 'approve', approver: item.approver, reportId: item.reportId }),
          });
          expect(decided.status).toBe(200);
        }
        return records().find((record) => record.step === 'finance-approval:approved');
      },
      { intervalMs: 100 },
    );
    const correlationId = approved.correlationId as string;
    await new Promise((resolve) => setTimeout(resolve, ERP_LATENCY_MS / 3));
    await first.stop('SIGTERM');

    // finance-post finished (or failed) its run after the audit node had closed: what it reported was kept.
    const savedFile = path.join(auditDir, HANDOVER_FILE_NAME);
    expect(fs.existsSync(savedFile)).toBe(true);
    const saved = JSON.parse(fs.readFileSync(savedFile, 'utf8')) as { records: AuditRecord[] };
    const reportedWhileStopping = saved.records.filter(
      (record) => record.correlationId === correlationId && String(record.step).startsWith('finance-post:'),
    );
    expect(reportedWhileStopping.length).toBeGreaterThan(0);
    const keyOf = (record: AuditRecord) => `${record.at} ${record.step} ${record.correlationId}`;
    const trailBefore = new Set(records().map(keyOf));
    for (const record of saved.records) expect(trailBefore.has(keyOf(record))).toBe(false);

    // The next start writes them first, once, and removes the file.
    const second = await startNodeRed({ userDir: first.userDir });
    await waitFor('the saved records to be written', async () => (fs.existsSync(savedFile) ? undefined : true));
    const after = records().map(keyOf);
    for (const record of saved.records) expect(after.filter((key) => key === keyOf(record))).toHaveLength(1);
    await second.stop('SIGTERM');
    expect(verifyTrail(auditDir)).toMatchObject({ ok: true });
  }, 120_000);
});
