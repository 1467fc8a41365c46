/**
 * A flow saved by an older version of the pack (test/fixtures/flows-before-0.1.0.json, see the README beside
 * it) deploys in a real Node-RED and behaves: an event is accepted, its budget checked against the embedded
 * sandbox ERP, with the fields added since filled by lib/config/migrations.ts, and nothing logs an error.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { sampleEvent } from '../../lib/sources/sampleEvents';
import { startNodeRed, stopAll, waitFor, type RunningProcess } from '../support/processes';

const OLD_FLOWS = path.resolve(__dirname, '..', 'fixtures', 'flows-before-0.1.0.json');
const SECRET = 'old-shape-test-secret';

describe('a flow saved by an older version of the pack', () => {
  let nodeRed: RunningProcess & { userDir: string };
  let server: http.Server;
  const reports: Array<{ reportId?: string; budget?: string; statusCode?: number }> = [];

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => (body += chunk));
      req.on('end', () => {
        reports.push(JSON.parse(body));
        res.end('ok');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    const flows = JSON.parse(fs.readFileSync(OLD_FLOWS, 'utf8')) as Array<Record<string, unknown>>;
    // The old shape really lacks the fields the migrations add (so this test proves something).
    const byId = new Map(flows.map((node) => [node.id, node]));
    expect(byId.get('old-in')).not.toHaveProperty('recoverySeconds');
    expect(byId.get('old-budget')).not.toHaveProperty('store');
    expect(byId.get('old-erp')).not.toHaveProperty('retryMaximumAttempts');
    expect(byId.get('old-erp')).not.toHaveProperty('circuitBreaker');
    nodeRed = await startNodeRed({
      flows,
      credentials: { 'old-source': { secret: SECRET } },
      env: { OLD_SHAPE_COLLECTOR: `http://127.0.0.1:${port}/report` },
    });
  }, 90_000);

  afterAll(async () => {
    await stopAll();
    await new Promise((resolve) => server?.close(resolve));
    if (nodeRed) fs.rmSync(nodeRed.userDir, { recursive: true, force: true });
  });

  it('accepts an event, checks its budget and logs no error', async () => {
    const event = sampleEvent({ profile: 'cloudevents', scheme: 'generic', seed: 77, secret: SECRET });
    const answer = await waitFor('the old webhook to answer', async () => {
      const response = await fetch(`${nodeRed.url}/old-shape/events`, {
        method: 'POST',
        headers: event.headers,
        body: new Uint8Array(event.rawBody),
      });
      return response.status === 404 ? undefined : response.status;
    });
    expect(answer).toBe(202);
    const checked = await waitFor('the budget check', async () => reports.find((report) => report.budget));
    expect(checked).toMatchObject({
      reportId: event.expected.reportId,
      budget: expect.stringMatching(/^(within|warning|exceeded)$/),
    });
    expect(
      nodeRed
        .output()
        .split('\n')
        .filter((line) => line.includes('[error]')),
    ).toEqual([]);
  });
});
