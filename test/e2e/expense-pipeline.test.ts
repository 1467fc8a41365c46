/**
 * The `Expense approval sync` example in a real Node-RED process against the sandbox ERP process: a few
 * hundred signed events (some over budget, some invalid, some delivered twice), approvals driven through
 * the approver endpoint, and the proof read from the sandbox: every valid report posted exactly once with
 * its references written back, every over-budget one approved by the finance controller, every invalid one
 * refused with its reason.
 */
import * as http from 'node:http';
import * as path from 'node:path';
import { sampleEvent, type SampleEvent } from '../../lib/sources/sampleEvents';
import { signPayload } from '../../lib/sources/signatures';
import { startNodeRed, startSandboxProcess, stopAll, waitFor, type RunningProcess } from '../support/processes';
import { patchMasterRecord } from '../support/sandbox-api';
const { deployableFlows, DEMO_WEBHOOK_SECRET } = require('../../flows/deployable-flows');

const VALID = 240;
const DUPLICATES = 30;
const INVALID = 30;
const SOURCE_SYSTEM = 'cloudevents:urn:finance-sync:samples';

interface Observed {
  reportId: string;
  budget?: { status: string };
  approval: { state: string; chain: Array<{ kind: string; approver: string; decidedBy?: string }> };
}

interface SandboxState {
  postings: Array<{ externalReference: string; number: string; id: string }>;
  writebacks: Array<{ documentId: string; status: string; erpRef?: { number?: string; documentId?: string } }>;
  counters: Record<string, number>;
}

interface DeadLetterSeen {
  id: string;
  status: string;
  docId?: string;
  error: { code?: string; message: string; httpStatus?: number; erpBody?: unknown; nodeId?: string };
}

/** A loopback server that the test adds to the flow to see every approved message. */
function startCollector(): Promise<{ url: string; seen: Observed[]; close: () => Promise<void> }> {
  const seen: Observed[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      seen.push(JSON.parse(body) as Observed);
      res.end('ok');
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      resolve({
        url: `http://127.0.0.1:${port}/approved`,
        seen,
        close: () => new Promise((r) => server.close(() => r())),
      });
    }),
  );
}

/** Makes a signed event invalid in one of the ways senders get wrong, re-signing it so only the content is at fault. */
function invalidEvent(seed: number): { event: SampleEvent; expectedPath: string } {
  const base = sampleEvent({ profile: 'cloudevents', scheme: 'generic', seed, secret: DEMO_WEBHOOK_SECRET });
  const body = JSON.parse(base.rawBody.toString()) as { data: Record<string, any> };
  const variants: Array<[string, () => void]> = [
    ['/total/amount', () => (body.data.total.amount = body.data.total.amount + '1')], // over-precise
    ['/total/currency', () => (body.data.total.currency = 'XXX')], // unknown currency
    ['/employeeId', () => delete body.data.employeeId], // missing field
    ['/lines/0/amount/amount', () => (body.data.lines[0].amount.amount = 12.5)], // a float
    ['/total/amount', () => (body.data.total.amount = '-' + body.data.total.amount)], // negative
  ];
  const [expectedPath, mutate] = variants[seed % variants.length];
  mutate();
  const rawBody = Buffer.from(JSON.stringify(body));
  const headers = { 'content-type': 'application/json', ...signPayload('generic', rawBody, DEMO_WEBHOOK_SECRET) };
  return { event: { ...base, rawBody, headers }, expectedPath };
}

async function post(url: string, headers: Record<string, string>, body: Buffer | string) {
  const response = await fetch(url, {
    method: 'POST',
    headers,
    body: typeof body === 'string' ? body : new Uint8Array(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}

async function inBatches<T, R>(items: T[], size: number, run: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  for (let i = 0; i < items.length; i += size) results.push(...(await Promise.all(items.slice(i, i + size).map(run))));
  return results;
}

describe('Expense approval sync, end to end', () => {
  let sandbox: RunningProcess;
  let nodeRed: RunningProcess;
  let collector: Awaited<ReturnType<typeof startCollector>>;

  beforeAll(async () => {
    sandbox = await startSandboxProcess();
    collector = await startCollector();
    const { flows, credentials } = deployableFlows(path.resolve(__dirname, '../../examples/pipelines'), {
      sandboxUrl: sandbox.url,
      only: ['Expense approval sync'],
    });
    // Observe the approved output without changing the example: one more wire to a core http request.
    const approval = flows.find((node: { id: string }) => node.id === 'exp-approval');
    approval.wires[0].push('test-observe');
    flows.push(
      {
        id: 'test-observe',
        type: 'change',
        z: 'exp-tab',
        x: 1100,
        y: 900,
        rules: [
          {
            t: 'set',
            p: 'payload',
            pt: 'msg',
            to: '{"reportId": payload.reportId, "budget": budget, "approval": approval}',
            tot: 'jsonata',
          },
        ],
        wires: [['test-report']],
      },
      {
        id: 'test-report',
        type: 'http request',
        z: 'exp-tab',
        x: 1300,
        y: 900,
        method: 'POST',
        ret: 'txt',
        url: collector.url,
        wires: [[]],
      },
    );
    nodeRed = await startNodeRed({ flows, credentials });
  }, 120_000);

  afterAll(async () => {
    await stopAll();
    await collector?.close();
  });

  it('shows a decision from the demo buttons that the approval refuses, instead of keeping it as a dead letter', async () => {
    // No request yet: the button's decision names no approver, and finance-approval refuses it. A dead letter of
    // it could never be replayed (the letters replay into finance-map), so the example shows it in the debug
    // sidebar instead.
    const letters = async () =>
      (
        (await (await fetch(`${nodeRed.url}/finance-dead-letter/exp-dead-letter/letters?limit=500`)).json()) as {
          letters: DeadLetterSeen[];
        }
      ).letters;
    const before = nodeRed.output().length;
    const pressed = await fetch(`${nodeRed.url}/inject/exp-approve-latest`, { method: 'POST' });
    expect(pressed.status).toBe(200);
    await waitFor('finance-approval to refuse the decision, shown by the debug node', async () =>
      /\[debug:Refused decisions \(buttons\)\][\s\S]*approver/.test(nodeRed.output().slice(before)) ? true : undefined,
    );
    expect((await letters()).filter((letter) => letter.error.nodeId === 'exp-approval')).toEqual([]);
  });

  it('posts every valid report exactly once, through the controller when over budget, and refuses invalid ones', async () => {
    const webhook = `${nodeRed.url}/finance/expenses`;
    const started = Date.now();
    // Half the senders say application/json: with Node-RED's default settings the editor's JSON body parser
    // would take those bodies before the webhook could check their signature.
    const valid = Array.from({ length: VALID }, (_, i) => {
      const event = sampleEvent({
        profile: 'cloudevents',
        scheme: 'generic',
        seed: 1000 + i,
        secret: DEMO_WEBHOOK_SECRET,
      });
      return i % 2 === 0 ? event : { ...event, headers: { ...event.headers, 'Content-Type': 'application/json' } };
    });
    const duplicates = valid.slice(0, DUPLICATES);
    const invalid = Array.from({ length: INVALID }, (_, i) => invalidEvent(5000 + i));

    const sent = await inBatches([...valid, ...duplicates], 10, (event) => post(webhook, event.headers, event.rawBody));
    expect(sent.slice(0, VALID).map((answer) => answer.status)).toEqual(Array(VALID).fill(202));
    expect(sent.slice(VALID).map((answer) => answer.status)).toEqual(Array(DUPLICATES).fill(200));

    const refused = await inBatches(invalid, 10, ({ event }) => post(webhook, event.headers, event.rawBody));
    refused.forEach((answer, i) => {
      expect({ event: i, status: answer.status }).toEqual({ event: i, status: 400 });
      expect(answer.body.detail).toEqual(expect.any(String));
      expect(JSON.stringify(answer.body.errors ?? answer.body.detail)).toContain(invalid[i].expectedPath.split('/')[1]);
    });

    // Approve whatever waits, as the person it waits for, until every valid report is posted; reject the first
    // one, which the example writes back as rejected (its approval leaves the event to the write-back).
    const decisions = `${nodeRed.url}/finance/approvals/decisions`;
    let decided = 0;
    let rejectedId: string | undefined;
    const state = await waitFor(
      'every valid report to be posted and written back',
      async () => {
        const pending = (await (
          await fetch(`${nodeRed.url}/finance-approval/exp-approval/pending?limit=1000`)
        ).json()) as {
          items: Array<{ reportId: string; approver: string }>;
        };
        rejectedId ??= pending.items[0]?.reportId;
        await inBatches(pending.items, 10, async (item) => {
          const decision = item.reportId === rejectedId ? 'reject' : 'approve';
          const answer = await post(
            decisions,
            { 'content-type': 'application/json' },
            JSON.stringify({ decision, approver: item.approver, reportId: item.reportId }),
          );
          expect(answer.status).toBe(200);
          decided += 1;
        });
        const current = (await (await fetch(`${sandbox.url}/_sandbox/state`)).json()) as SandboxState;
        return current.writebacks.length >= VALID && pending.items.length === 0 ? current : undefined;
      },
      { timeoutMs: 240_000, intervalMs: 500 },
    );
    const seconds = (Date.now() - started) / 1000;

    expect(rejectedId).toEqual(expect.any(String));
    const posted = valid.filter((event) => event.expected.reportId !== rejectedId);
    const references = state.postings.map((posting) => posting.externalReference);
    expect(new Set(references).size).toBe(references.length);
    expect(new Set(references)).toEqual(new Set(posted.map((event) => `${SOURCE_SYSTEM}:${event.expected.reportId}`)));

    const writtenBack = new Map(state.writebacks.map((writeback) => [writeback.documentId, writeback]));
    expect(state.writebacks).toHaveLength(VALID);
    expect(writtenBack.get(rejectedId!)?.status).toBe('rejected');
    const numbers = new Map(state.postings.map((posting) => [posting.externalReference, posting.number]));
    for (const event of posted) {
      const writeback = writtenBack.get(event.expected.reportId);
      expect(writeback?.status).toBe('posted');
      expect(writeback?.erpRef?.number).toBe(numbers.get(`${SOURCE_SYSTEM}:${event.expected.reportId}`));
    }

    await waitFor('every approval to be observed', async () => (collector.seen.length >= VALID - 1 ? true : undefined));
    const overBudget = collector.seen.filter((seen) => seen.budget?.status === 'exceeded');
    expect(overBudget.length).toBeGreaterThan(0);
    // The controller decides every over-budget report (as one stage with the manager's when they are the same person).
    for (const seen of overBudget) {
      const deciders = seen.approval.chain.map((stage) => stage.decidedBy);
      expect({ reportId: seen.reportId, controllerDecided: deciders.includes('E1003') }).toEqual({
        reportId: seen.reportId,
        controllerDecided: true,
      });
    }
    const autoApproved = collector.seen.filter((seen) => seen.approval.chain.length === 0).length;

    console.log(
      `expense e2e: ${VALID} valid + ${DUPLICATES} duplicate + ${INVALID} invalid events; ${decided} decisions; ` +
        `${overBudget.length} over budget via the controller; ${autoApproved} auto-approved; ` +
        `${state.postings.length} postings; ${seconds.toFixed(1)} s from first event to last write-back`,
    );
  }, 300_000);

  it('keeps a report the ERP refuses as a dead letter, and posts it once when it is replayed after the fix', async () => {
    // A report that waits for its approver (over 500.00 EUR); while it waits, finance closes its cost center.
    const event = Array.from({ length: 50 }, (_, i) =>
      sampleEvent({ profile: 'cloudevents', scheme: 'generic', seed: 9000 + i, secret: DEMO_WEBHOOK_SECRET }),
    ).find((candidate) => BigInt(candidate.expected.total.amount.replace('.', '')) > 50_000n)!;
    const { reportId } = event.expected;
    const reference = `${SOURCE_SYSTEM}:${reportId}`;
    const costCenters = [...new Set(event.expected.lines.map((line) => line.dimensions.costCenter!))];
    const setOpen = (open: boolean) =>
      Promise.all(costCenters.map((costCenter) => patchMasterRecord(sandbox.url, 'costCenters', costCenter, { open })));
    const sandboxState = async () => (await (await fetch(`${sandbox.url}/_sandbox/state`)).json()) as SandboxState;
    const lettersOfReport = async () => {
      const response = await fetch(`${nodeRed.url}/finance-dead-letter/exp-dead-letter/letters?limit=500`);
      const page = (await response.json()) as { letters: DeadLetterSeen[] };
      return page.letters.filter((letter) => letter.docId === reportId);
    };
    const approveUntilRefused = () =>
      waitFor(`report ${reportId} to be approved and then refused by the ERP`, async () => {
        const pending = (await (
          await fetch(`${nodeRed.url}/finance-approval/exp-approval/pending?limit=1000`)
        ).json()) as { items: Array<{ reportId: string; approver: string }> };
        const waiting = pending.items.filter((item) => item.reportId === reportId);
        for (const item of waiting) {
          const body = JSON.stringify({ decision: 'approve', approver: item.approver, reportId });
          await post(`${nodeRed.url}/finance/approvals/decisions`, { 'content-type': 'application/json' }, body);
        }
        return waiting.length === 0 && (await lettersOfReport()).length > 0 ? true : undefined;
      });

    expect((await post(`${nodeRed.url}/finance/expenses`, event.headers, event.rawBody)).status).toBe(202);
    await waitFor(`report ${reportId} to wait for an approver`, async () => {
      const pending = (await (await fetch(`${nodeRed.url}/finance-approval/exp-approval/pending`)).json()) as {
        items: Array<{ reportId: string }>;
      };
      return pending.items.some((item) => item.reportId === reportId) ? true : undefined;
    });
    await setOpen(false);
    await approveUntilRefused();

    const [letter] = await lettersOfReport();
    expect(letter).toMatchObject({ status: 'open', error: { httpStatus: 422, nodeId: 'exp-post' } });
    expect(letter.error.message).toContain(costCenters[0]);
    expect(JSON.stringify(letter.error.erpBody)).toContain('closed');
    const refusedState = await sandboxState();
    expect(refusedState.postings.filter((posting) => posting.externalReference === reference)).toEqual([]);
    expect(refusedState.writebacks.filter((writeback) => writeback.documentId === reportId)).toEqual([]);

    // Finance reopens the cost center and replays the letter.
    await setOpen(true);
    const replay = await post(
      `${nodeRed.url}/finance-dead-letter/exp-dead-letter/replay`,
      { 'content-type': 'application/json' },
      JSON.stringify({ ids: [letter.id] }),
    );
    expect(replay.status).toBe(200);
    const written = await waitFor(`report ${reportId} to be posted and written back after the replay`, async () => {
      const current = await sandboxState();
      return current.writebacks.some((writeback) => writeback.documentId === reportId) ? current : undefined;
    });
    const postings = written.postings.filter((posting) => posting.externalReference === reference);
    expect(postings).toHaveLength(1);
    const writebacks = written.writebacks.filter((writeback) => writeback.documentId === reportId);
    expect(writebacks).toEqual([
      expect.objectContaining({ status: 'posted', erpRef: expect.objectContaining({ number: postings[0].number }) }),
    ]);
    await waitFor('the letter to be marked replayed', async () =>
      (await lettersOfReport())[0]?.status === 'replayed' ? true : undefined,
    );
  }, 120_000);
});
