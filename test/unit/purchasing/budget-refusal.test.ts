/**
 * A purchase order the ERP's budget control refuses at the write (SAP availability control, over real HTTP
 * against the sandbox's SAP simulator) is the outcome budget_exceeded with msg.budget exceeded, written back
 * as budget_exceeded: not a refusal for the refused output, not a retry. Its tolerance warnings on a saved
 * order become msg.budget with status warning.
 */
import { LedgerWriter } from '../../../lib/posting/idempotent-write';
import { KeyedQueue } from '../../../lib/purchasing/keyed-queue';
import { MasterDataCache, readMasterData } from '../../../lib/purchasing/master-data';
import { syncPurchaseOrder, type SyncDependencies } from '../../../lib/purchasing/sync';
import { VersionBook } from '../../../lib/purchasing/versions';
import type { FinanceStore } from '../../../lib/reliability/store';
import { writebackOutcome } from '../../../lib/writeback/outcome';
import { ctx, startDialectRig, today, type DialectRig } from '../dialects/harness';
import { sapConnection } from '../dialects/sap-fixtures';
import { line, requisition, storeFolder } from './fixtures';

const eur = (amount: string) => ({ amount, currency: 'EUR' });

describe('a budget refusal of the purchase order write (SAP availability control)', () => {
  const folder = storeFolder('budget-refusal');
  let rig: DialectRig;
  let store: FinanceStore;
  let deps: SyncDependencies;

  beforeAll(async () => {
    rig = await startDialectRig(sapConnection());
    store = folder.open();
    deps = {
      dialect: rig.dialect,
      writer: new LedgerWriter(store, { ownerPrefix: 'test' }),
      versions: new VersionBook(store),
      queue: new KeyedQueue(),
      masterData: new MasterDataCache({
        read: () => readMasterData(rig.dialect, ctx),
        refreshMs: 60_000,
        retryMs: 1000,
        recheckAfterMs: 60_000,
      }),
    };
  });
  afterAll(async () => {
    await rig.close();
    await folder.cleanup();
  });

  /** One line on CC-400 / training (6500), which has 1,000.00 a month in the sandbox. */
  const training = (id: string, version: number, amount: string) =>
    requisition({
      sourceRef: { system: 'coupa', id, version },
      requisitionId: id,
      currency: 'EUR',
      total: eur(amount),
      lines: [
        line({
          lineId: '1',
          quantity: '1',
          unitPrice: eur(amount),
          amount: eur(amount),
          taxCode: undefined,
          accountAssignments: [{ dimensions: { costCenter: 'CC-400', glAccount: '6500' }, percent: '100' }],
        }),
      ],
    });
  const sync = (document: unknown) =>
    syncPurchaseOrder(deps, {
      document,
      envelope: { time: `${today()}T09:00:00Z` },
      correlationId: 'corr-avc',
      now: new Date(),
    });

  it('ends as budget_exceeded with the ERP messages, records nothing, and tries a later version again', async () => {
    const result = await sync(training('R-AVC-1', 1, '49999.00'));
    if (result.outcome === 'refused') throw result.error;
    expect(result.outcome).toBe('budget_exceeded');
    if (result.outcome !== 'budget_exceeded') return;
    expect(result.budget).toMatchObject({
      status: 'exceeded',
      requested: eur('49999.00'),
      currency: 'EUR',
      period: today().slice(0, 7),
      erpMessages: [expect.objectContaining({ code: 'BP/604', severity: 'error' })],
    });
    expect(result.budget.available).toBeUndefined();
    expect(result.error).toMatchObject({ code: 'ERP_REJECTED', retryable: false });
    // The write-back after it writes budget_exceeded, as after finance-budget-check's exceeded output.
    const writeback = writebackOutcome({
      payload: training('R-AVC-1', 1, '49999.00'),
      budget: result.budget,
    } as never);
    expect(writeback).toMatchObject({ documentId: 'R-AVC-1', status: 'budget_exceeded' });
    expect(writeback.erpRef).toBeUndefined();
    expect(await deps.versions.get('coupa:R-AVC-1')).toBeUndefined();

    // A lowered version fits, so it becomes the purchase order.
    const next = await sync(training('R-AVC-1', 2, '100.00'));
    expect(next).toMatchObject({ outcome: 'synced', purchaseOrder: { action: 'created' } });
  });

  it('keeps availability control warnings of a saved order as msg.budget with status warning', async () => {
    // 100.00 of the 1,000.00 is held by the order above; 850.00 more uses 95 % of the month's budget.
    const result = await sync(training('R-AVC-2', 1, '850.00'));
    expect(result.outcome).toBe('synced');
    if (result.outcome !== 'synced') return;
    expect(result.budget).toMatchObject({
      status: 'warning',
      requested: eur('850.00'),
      erpMessages: [expect.objectContaining({ code: 'BP/603', severity: 'warning' })],
    });
    // An ordinary one has none.
    const plain = await sync(
      requisition({
        sourceRef: { system: 'coupa', id: 'R-AVC-3', version: 1 },
        requisitionId: 'R-AVC-3',
        total: eur('10.00'),
        lines: [
          line({
            quantity: '1',
            unitPrice: eur('10.00'),
            amount: eur('10.00'),
            taxCode: undefined,
            accountAssignments: [{ dimensions: { costCenter: 'CC-100', glAccount: '6300' }, percent: '100' }],
          }),
        ],
      }),
    );
    expect(plain).toMatchObject({ outcome: 'synced' });
    expect(plain.outcome === 'synced' && plain.budget).toBeFalsy();
  });

  it('keeps the warnings of a change too, and refuses a change over budget as budget_exceeded', async () => {
    // R-AVC-1 v2 holds 100.00, R-AVC-2 850.00 of CC-400 / training's 1,000.00.
    const created = await sync(training('R-AVC-5', 1, '10.00'));
    expect(created).toMatchObject({ outcome: 'synced', purchaseOrder: { action: 'created' } });
    const raised = await sync(training('R-AVC-5', 2, '40.00'));
    expect(raised).toMatchObject({
      outcome: 'synced',
      purchaseOrder: { action: 'updated' },
      budget: { status: 'warning', erpMessages: [expect.objectContaining({ code: 'BP/603' })] },
    });
    const over = await sync(training('R-AVC-5', 3, '400.00'));
    expect(over).toMatchObject({
      outcome: 'budget_exceeded',
      budget: { status: 'exceeded', erpMessages: [expect.objectContaining({ code: 'BP/604' })] },
    });
    // The version applied stays the last one SAP accepted, and SAP still holds its lines: the items removed
    // for the refused change were added back.
    const applied = await deps.versions.get('coupa:R-AVC-5');
    expect(applied).toMatchObject({ version: 2 });
    const held = await rig.dialect.getPurchaseOrder(applied!.erpRef!.documentId, ctx);
    expect(held).toMatchObject({ status: 'open', total: eur('40.00') });
    expect(held.lines.map((l) => [l.quantity, l.unitPrice.amount, l.accountAssignments[0].dimensions])).toEqual([
      ['1', '40.00', { costCenter: 'CC-400', glAccount: '6500' }],
    ]);
  });

  it('keeps other refusals as refused (a supplier SAP blocks for purchasing)', async () => {
    const blocked = await sync(
      requisition({
        sourceRef: { system: 'coupa', id: 'R-AVC-4', version: 1 },
        requisitionId: 'R-AVC-4',
        supplierId: 'SUP-1009',
      }),
    );
    expect(blocked).toMatchObject({ outcome: 'refused', error: { code: 'ERP_REJECTED' } });
    expect(blocked.outcome === 'refused' && blocked.error.message).toMatch(/SUP-1009/);
  });
});
