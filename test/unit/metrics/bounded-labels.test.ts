/**
 * Labels whose values come from outside the configuration stay bounded: the cost centers an ERP reports, and
 * the currencies of its spend report. The events remembered as completed take the same room whatever their id.
 */
import type { CallContext, CostCenterSpend, ErpDialect } from '../../../lib/erp/dialect';
import { FinanceError } from '../../../lib/errors';
import { MAX_COST_CENTER_LABELS, MAX_LABEL_LENGTH } from '../../../lib/metrics/labels';
import { toPrometheus } from '../../../lib/metrics/prometheus';
import { completedEventKey, MetricsRegistry } from '../../../lib/metrics/registry';
import { collectSnapshot, spendFigures, type SpendFigure } from '../../../lib/metrics/scrape';
import type { Observation } from '../../../lib/observe/observation';

const ctx: CallContext = { correlationId: 'c-1' };

/** An ERP whose spend report answers `items`. */
function reporting(items: CostCenterSpend[]): ErpDialect {
  return { spendByCostCenter: async () => items } as unknown as ErpDialect;
}

function spend(costCenter: string, committed: string, actual: string, currency = 'EUR'): CostCenterSpend {
  return { costCenter, committed: { amount: committed, currency }, actual: { amount: actual, currency } };
}

async function scrape(registry: MetricsRegistry, items: CostCenterSpend[]) {
  const figures = await spendFigures('SAP', reporting(items), ctx);
  return collectSnapshot({ registry, spend: async () => figures });
}

const costCenterLabels = (text: string) =>
  new Set([...text.matchAll(/^finance_spend_committed\{[^}]*cost_center="([^"]*)"/gm)].map((match) => match[1]));

describe('cost center labels of the spend figures', () => {
  it(`keep their own label for the first ${MAX_COST_CENTER_LABELS} and add up the later ones as "other"`, async () => {
    const registry = new MetricsRegistry();
    const items = Array.from({ length: 2000 }, (_, i) => spend(`CC-${i}`, '0.10', '0.20'));
    items.push(spend('CC-USD-1', '5.00', '1.00', 'USD'), spend('CC-USD-2', '7.00', '0.00', 'USD'));

    const snapshot = await scrape(registry, items);
    expect(registry.costCentersFolded).toBe(true);
    expect(snapshot.spend).toHaveLength(MAX_COST_CENTER_LABELS + 2); // "other" once per currency
    expect(snapshot.spend[0]).toEqual({
      erp: 'SAP',
      costCenter: 'CC-0',
      currency: 'EUR',
      committed: '0.10',
      actual: '0.20',
      total: '0.30',
    });
    // 1,500 x 0.10 and 0.20, in minor units (in floats 0.1 + 0.2 is not 0.3).
    expect(snapshot.spend.filter((figure) => figure.costCenter === 'other')).toEqual([
      { erp: 'SAP', costCenter: 'other', currency: 'EUR', committed: '150.00', actual: '300.00', total: '450.00' },
      { erp: 'SAP', costCenter: 'other', currency: 'USD', committed: '12.00', actual: '1.00', total: '13.00' },
    ]);
    expect(costCenterLabels(toPrometheus(snapshot)).size).toBe(MAX_COST_CENTER_LABELS + 1);
  });

  it('keep the labels they were given from scrape to scrape', async () => {
    const registry = new MetricsRegistry();
    const items = Array.from({ length: MAX_COST_CENTER_LABELS }, (_, i) => spend(`CC-${i}`, '1.00', '0.00'));
    expect((await scrape(registry, items)).spend.some((figure) => figure.costCenter === 'other')).toBe(false);
    expect(registry.costCentersFolded).toBe(false);

    // A new cost center sorts first in the next report: it is the one past the limit, not the last one.
    const next = await scrape(registry, [spend('AA-new', '2.00', '0.00'), ...items]);
    expect(next.spend[0]).toMatchObject({ costCenter: 'other', committed: '2.00' });
    expect(next.spend.at(-1)).toMatchObject({ costCenter: `CC-${MAX_COST_CENTER_LABELS - 1}`, committed: '1.00' });
    expect(registry.costCentersFolded).toBe(true);
  });

  it(`are cut to ${MAX_LABEL_LENGTH} characters, adding up the cost centers that then share a label`, async () => {
    const registry = new MetricsRegistry();
    const long = `Marketing ${'x'.repeat(100)}`;
    const snapshot = await scrape(registry, [spend(`${long} - A`, '1.00', '0.50'), spend(`${long} - B`, '2.00', '0')]);
    expect(snapshot.spend).toEqual([
      {
        erp: 'SAP',
        costCenter: long.slice(0, MAX_LABEL_LENGTH),
        currency: 'EUR',
        committed: '3.00',
        actual: '0.50',
        total: '3.50',
      },
    ]);
  });

  it('leave the figures a read shared between scrapes untouched', async () => {
    const registry = new MetricsRegistry();
    const figures: SpendFigure[] = await spendFigures('SAP', reporting([spend(`C${'x'.repeat(99)}`, '1', '1')]), ctx);
    const copy = structuredClone(figures);
    await collectSnapshot({ registry, spend: async () => figures });
    expect(figures).toEqual(copy);
  });
});

describe('currency labels of the spend figures', () => {
  it('can only be ISO 4217 codes: any other currency is refused before it becomes a label', async () => {
    for (const currency of ['EURO', 'eur', 'XAU', '<script>', '']) {
      const err = await spendFigures('SAP', reporting([spend('CC-1', '1.00', '1.00', currency)]), ctx).catch(
        (reason: unknown) => reason,
      );
      expect(err).toBeInstanceOf(FinanceError);
      expect(err).toMatchObject({ code: 'UNKNOWN_CURRENCY' });
    }
    const mixed = {
      costCenter: 'CC-1',
      committed: { amount: '1.00', currency: 'EUR' },
      actual: { amount: '1', currency: 'bogus' },
    };
    await expect(spendFigures('SAP', reporting([mixed]), ctx)).rejects.toMatchObject({ code: 'ERP_REJECTED' });

    const registry = new MetricsRegistry();
    const snapshot = await collectSnapshot({
      registry,
      spend: () => spendFigures('SAP', reporting([spend('CC-1', '1.00', '1.00', 'EURO')]), ctx),
    });
    expect(snapshot.spend).toEqual([]);
    expect(snapshot.problems).toEqual([expect.stringContaining('"EURO" is not an ISO 4217 currency code')]);
  });
});

describe('completed events, each counted once', () => {
  const done = (system: string, eventId: string): Observation => ({
    kind: 'outcome',
    at: '2026-03-01T10:00:00.000Z',
    node: { type: 'finance-writeback', id: 'wb-1' },
    output: 'done',
    system,
    process: 'expense',
    sourceIds: { eventId, docType: 'ExpenseReport', docId: 'R-1' },
  });

  it('are remembered by a digest of fixed size, however long their source and id', () => {
    const longId = 'e'.repeat(1024);
    const key = completedEventKey(`/tenants/${'a'.repeat(500)}`, longId);
    expect(key).toHaveLength(44);
    expect(completedEventKey('concur:ACME', 'e1')).toHaveLength(44);
    expect(new Set([key, completedEventKey('concur:ACME', longId), completedEventKey('coupa', longId)]).size).toBe(3);
    expect(completedEventKey('concur:ACME', longId)).toBe(completedEventKey('concur:ACME', longId));
  });

  it('count once per source and id, as before', () => {
    const registry = new MetricsRegistry();
    const longId = 'e'.repeat(1024);
    registry.record(done('concur:ACME', longId));
    registry.record(done('concur:ACME', longId)); // a recovered re-run finishing again
    registry.record(done('concur:ACME', `${longId}x`));
    registry.record(done('coupa', longId)); // the same id from another source is another event
    const completed = (system: string) => registry.snapshot().processes.find((p) => p.system === system)!.completed;
    expect(completed('concur:ACME')).toBe(2);
    expect(completed('coupa')).toBe(1);
  });
});
