import {
  applyChanges,
  diffPurchaseOrder,
  isEmptyPatch,
  patchBetween,
  stableJson,
  summarise,
} from '../../../lib/purchasing/diff';
import { contentOf, toPurchaseOrder, type PurchaseOrderContent } from '../../../lib/purchasing/document';
import { line, requisition } from './fixtures';

const eur = (amount: string) => ({ amount, currency: 'EUR' });

function content(
  change: (lines: ReturnType<typeof requisition>['lines']) => void = () => undefined,
): PurchaseOrderContent {
  const req = requisition();
  change(req.lines);
  return contentOf(toPurchaseOrder(req, '2026-03-10'));
}

describe('diffPurchaseOrder', () => {
  it('finds nothing between equal orders, whatever order their keys are in', () => {
    const base = content();
    const reordered = content((lines) => {
      lines[0] = JSON.parse(stableJson(lines[0]));
    });
    expect(diffPurchaseOrder(base, reordered)).toEqual([]);
  });

  it('a quantity revision is one lineChanged with quantity and amount', () => {
    const wanted = content((lines) => {
      lines[0].quantity = '3';
      lines[0].amount = eur('450.00');
    });
    const changes = diffPurchaseOrder(content(), wanted);
    expect(summarise(changes)).toEqual([{ kind: 'lineChanged', lineId: '1', fields: ['quantity', 'amount'] }]);
  });

  it('an added and a removed line', () => {
    const wanted = content((lines) => {
      lines.splice(1, 1);
      lines.push(line({ lineId: '3', description: 'Monitor arm', itemCode: undefined }));
    });
    expect(summarise(diffPurchaseOrder(content(), wanted))).toEqual([
      { kind: 'lineRemoved', lineId: '2' },
      { kind: 'lineAdded', lineId: '3' },
    ]);
  });

  it('a re-split of the coding is a change of accountAssignments only', () => {
    const wanted = content((lines) => {
      lines[0].accountAssignments = [
        { dimensions: { costCenter: 'CC-400', glAccount: '0650' }, percent: '50' },
        { dimensions: { project: 'PRJ-2001', glAccount: '0650' }, percent: '50' },
      ];
    });
    expect(summarise(diffPurchaseOrder(content(), wanted))).toEqual([
      { kind: 'lineChanged', lineId: '1', fields: ['accountAssignments'] },
    ]);
  });

  it('header fields and a removed optional field of a line', () => {
    const base = content();
    const wanted = { ...content((lines) => delete lines[0].taxCode), supplierId: 'SUP-1005', orderDate: '2026-03-11' };
    expect(summarise(diffPurchaseOrder(base, wanted))).toEqual([
      { kind: 'header', field: 'supplierId' },
      { kind: 'header', field: 'orderDate' },
      { kind: 'lineChanged', lineId: '1', fields: ['taxCode'] },
    ]);
  });
});

describe('applyChanges and patchBetween', () => {
  it('applied to the base they were computed on, the changes give the wanted order', () => {
    const base = content();
    const wanted = content((lines) => {
      lines[0].quantity = '3';
      lines[0].amount = eur('450.00');
      lines.splice(1, 1);
      lines.push(line({ lineId: '3', description: 'Monitor arm' }));
    });
    expect(stableJson(applyChanges(base, diffPurchaseOrder(base, wanted)))).toBe(stableJson(wanted));
  });

  it('re-applied to a copy someone else edited, they touch only their own fields and lines', () => {
    const base = content();
    const wanted = content((lines) => {
      lines[0].quantity = '3';
      lines[0].amount = eur('450.00');
    });
    const changes = diffPurchaseOrder(base, wanted);
    const edited = content((lines) => {
      lines[0].description = 'Laptop stand (aluminium)';
      lines[1].description = 'USB-C dock, 2 screens';
    });
    const result = applyChanges(edited, changes);
    expect(result.lines[0]).toMatchObject({
      quantity: '3',
      amount: eur('450.00'),
      description: 'Laptop stand (aluminium)',
    });
    expect(result.lines[1].description).toBe('USB-C dock, 2 screens');
  });

  it('a changed line that was removed meanwhile comes back whole; a removed one that is gone stays gone', () => {
    const base = content();
    const wanted = content((lines) => {
      lines[0].quantity = '3';
      lines[0].amount = eur('450.00');
      lines.splice(1, 1);
    });
    const withoutLines = { ...base, lines: [] };
    const result = applyChanges(withoutLines, diffPurchaseOrder(base, wanted));
    expect(result.lines).toEqual([wanted.lines[0]]);
  });

  it('an added line already there takes the wanted content', () => {
    const base = content((lines) => lines.splice(1, 1));
    const wanted = content();
    const changes = diffPurchaseOrder(base, wanted);
    const already = content((lines) => (lines[1].description = 'old text'));
    expect(applyChanges(already, changes).lines[1]).toEqual(wanted.lines[1]);
  });

  it('the patch holds only the fields that differ, and all the lines when one line differs', () => {
    const base = content();
    expect(isEmptyPatch(patchBetween(base, content()))).toBe(true);
    expect(patchBetween(base, { ...base, supplierId: 'SUP-1005' })).toEqual({ supplierId: 'SUP-1005' });
    const wanted = content((lines) => {
      lines[1].quantity = '2';
      lines[1].amount = eur('179.80');
    });
    const patch = patchBetween(base, wanted);
    expect(Object.keys(patch)).toEqual(['lines']);
    expect(patch.lines).toHaveLength(2);
    expect(patch.lines?.[1].quantity).toBe('2');
  });
});
