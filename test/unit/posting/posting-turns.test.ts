/**
 * Two versions of one report posted at the same moment: each dialect looks up what the ERP holds under the
 * report's number and then writes, and the ledger keeps one marker per version, so both versions found nothing
 * and both were posted. PostingTurns (lib/posting/posting-turns.ts) makes them take turns per report.
 */
import { ErpClient } from '../../../lib/erp/client';
import type { CallContext, ErpDialect, PostingRequest } from '../../../lib/erp/dialect';
import { createSandboxDialect } from '../../../lib/erp/sandbox/dialect';
import { LedgerWriter } from '../../../lib/posting/idempotent-write';
import { postExpenseReport, type PostExpenseSettings } from '../../../lib/posting/post-expense';
import { PostingTurns } from '../../../lib/posting/posting-turns';
import type { FinanceStore } from '../../../lib/reliability/store';
import { startSandbox, type SandboxHandle } from '../../../lib/sandbox/server';
import { approvedReport, storeFolder } from './fixtures';

const journal: PostExpenseSettings = { kind: 'journal', postingDate: 'document', requireApproval: true };

describe('posting turns', () => {
  const folder = storeFolder('posting-turns');
  let sandbox: SandboxHandle;
  let client: ErpClient;
  let store: FinanceStore;

  const input = (document: unknown) => ({
    document,
    approval: { state: 'approved' },
    correlationId: 'corr-turns',
    now: new Date(),
  });

  beforeAll(async () => {
    sandbox = await startSandbox({ port: 0 });
    client = new ErpClient({ name: 'demo-erp', dialect: 'sandbox', baseUrl: sandbox.url, auth: { type: 'none' } });
  });
  beforeEach(async () => {
    await fetch(`${sandbox.url}/_sandbox/reset`, { method: 'POST' });
    store = folder.open(Date.now);
  });
  afterAll(async () => {
    client.close();
    await sandbox.close();
    await folder.cleanup();
  });

  it('posts one version of a report when two arrive at once, and refuses the other as a different version', async () => {
    // The sandbox refuses a second posting under one number itself; Business Central's shared FS batch and an
    // ERP without a unique reference do not. So the test watches the writes: they must never overlap.
    const sandboxDialect = createSandboxDialect(client, { name: 'demo-erp', company: 'FS-DEMO' });
    let running = 0;
    let mostAtOnce = 0;
    const dialect = Object.assign(Object.create(sandboxDialect) as ErpDialect, {
      post: async (posting: PostingRequest, ctx: CallContext) => {
        running += 1;
        mostAtOnce = Math.max(mostAtOnce, running);
        try {
          await new Promise((resolve) => setTimeout(resolve, 30));
          return await sandboxDialect.post(posting, ctx);
        } finally {
          running -= 1;
        }
      },
    });
    const writer = new LedgerWriter(store, { ownerPrefix: 'test', settleAfterMs: 0 });
    const turns = new PostingTurns(store);
    const first = approvedReport({ sourceRef: { system: 'concur', id: 'RPT-1001', version: 2 } });
    const second = approvedReport({ sourceRef: { system: 'concur', id: 'RPT-1001', version: 3 } });
    second.lines[1].dimensions = { costCenter: 'CC-100', glAccount: '6000' };

    const results = await Promise.allSettled([
      postExpenseReport(writer, dialect, input(first), journal, turns),
      postExpenseReport(writer, dialect, input(second), journal, turns),
    ]);

    expect(mostAtOnce).toBe(1);
    const { postings } = await (await fetch(`${sandbox.url}/_sandbox/state`)).json();
    expect(postings).toHaveLength(1);
    expect(results[0]).toMatchObject({ status: 'fulfilled', value: { outcome: 'posted', via: 'written' } });
    // The later version finds the posting of the first and is told what differs, not posted a second time.
    const later = results[1];
    const code =
      later.status === 'rejected'
        ? (later.reason as { code?: string }).code
        : (later.value as { error?: { code?: string } }).error?.code;
    expect(code).toBe('ERP_CONFLICT');
  });

  it('lets postings of different reports run side by side', async () => {
    const turns = new PostingTurns(store);
    const order: string[] = [];
    let releaseFirst: () => void = () => undefined;
    const first = turns.run('report-a', async () => {
      order.push('a starts');
      await new Promise<void>((resolve) => (releaseFirst = resolve));
      order.push('a ends');
    });
    await new Promise((resolve) => setImmediate(resolve));
    await turns.run('report-b', async () => order.push('b runs'));
    releaseFirst();
    await first;
    expect(order).toEqual(['a starts', 'b runs', 'a ends']);
  });

  it('on a store several hosts share, one host waits for the other host’s posting of the report', async () => {
    const leases = new Map<string, { holder: string; until: number }>();
    const shared = {
      sharedAcrossHosts: true,
      claimLease: async (name: string, holder: string, ttlMs: number) => {
        const held = leases.get(name);
        if (held && held.holder !== holder && held.until > Date.now()) return false;
        if (ttlMs === 0) leases.delete(name);
        else leases.set(name, { holder, until: Date.now() + ttlMs });
        return true;
      },
    } as unknown as FinanceStore;
    const hostA = new PostingTurns(shared);
    const hostB = new PostingTurns(shared);
    const order: string[] = [];
    let releaseA: () => void = () => undefined;
    const onA = hostA.run('report-a', async () => {
      order.push('A starts');
      await new Promise<void>((resolve) => (releaseA = resolve));
      order.push('A ends');
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    const onB = hostB.run('report-a', async () => order.push('B runs'));
    await new Promise((resolve) => setTimeout(resolve, 50));
    releaseA();
    await Promise.all([onA, onB]);
    expect(order).toEqual(['A starts', 'A ends', 'B runs']);
  });
});
