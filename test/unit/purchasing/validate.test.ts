import type { PurchaseOrder } from '../../../lib/model/types';
import { toPurchaseOrder } from '../../../lib/purchasing/document';
import { documentCheck, masterDataFailures, type ValidationFailure } from '../../../lib/purchasing/validate';
import { demoLookup, line, requisition } from './fixtures';

const eur = (amount: string) => ({ amount, currency: 'EUR' });

function order(change: (po: PurchaseOrder) => void = () => undefined): PurchaseOrder {
  const po = JSON.parse(JSON.stringify(toPurchaseOrder(requisition(), '2026-03-10'))) as PurchaseOrder;
  change(po);
  return po;
}

function failuresOf(change: (po: PurchaseOrder) => void): ValidationFailure[] {
  return masterDataFailures(order(change), demoLookup());
}

describe("the ERP's master data", () => {
  it('finds nothing wrong with a valid order', () => {
    expect(masterDataFailures(order(), demoLookup())).toEqual([]);
  });

  it('refuses a blocked supplier (SUP-1009) and an unknown one, naming the field', () => {
    expect(failuresOf((po) => (po.supplierId = 'SUP-1009'))).toEqual([
      {
        field: 'supplierId',
        path: '/supplierId',
        rule: 'supplierBlocked',
        message: expect.stringMatching(/^supplierId "SUP-1009": Northwind Trading Ltd is blocked in the ERP/),
      },
      // Its lines' tax code DE-19 does not belong to a British supplier either.
      expect.objectContaining({ line: '1', rule: 'taxCodeCountry' }),
      expect.objectContaining({ line: '2', rule: 'taxCodeCountry' }),
    ]);
    const unknown = failuresOf((po) => (po.supplierId = 'SUP-9999'));
    expect(unknown).toEqual([expect.objectContaining({ field: 'supplierId', rule: 'supplierUnknown' })]);
    expect(unknown[0].message).toContain('SUP-9999');
  });

  it("refuses a tax code of another country than the supplier's, suggesting the supplier's codes", () => {
    const [failure, ...rest] = failuresOf((po) => (po.lines[1].taxCode = 'FR-20'));
    expect(rest).toEqual([]);
    expect(failure).toEqual({
      line: '2',
      field: 'taxCode',
      path: '/lines/1/taxCode',
      rule: 'taxCodeCountry',
      message:
        'Line "2", taxCode "FR-20": the tax code is for FR but supplier SUP-1001 is in DE; use a tax code of DE such as DE-19, DE-7.',
    });
  });

  it('refuses an unknown tax code', () => {
    expect(failuresOf((po) => (po.lines[0].taxCode = 'XX-99'))).toEqual([
      expect.objectContaining({
        line: '1',
        field: 'taxCode',
        rule: 'taxCodeUnknown',
        message: expect.stringContaining('Line "1", taxCode "XX-99"'),
      }),
    ]);
  });

  it('refuses a split without a GL account or without a cost center and project', () => {
    const failures = failuresOf((po) => {
      po.lines[0].accountAssignments[0].dimensions = { costCenter: 'CC-400' };
      po.lines[0].accountAssignments[1].dimensions = { glAccount: '0650' };
    });
    expect(failures).toEqual([
      expect.objectContaining({
        line: '1',
        field: 'accountAssignments.0.dimensions.glAccount',
        path: '/lines/0/accountAssignments/0/dimensions/glAccount',
        rule: 'assignmentIncomplete',
        message: expect.stringMatching(
          /^Line "1", accountAssignments\.0\.dimensions\.glAccount: the split names no GL account/,
        ),
      }),
      expect.objectContaining({
        line: '1',
        field: 'accountAssignments.1.dimensions',
        rule: 'assignmentIncomplete',
        message: expect.stringContaining('neither a cost center nor a project'),
      }),
    ]);
  });

  it('refuses unknown and closed cost centers, projects and GL accounts (PRJ-1907 closed, 6999 closed)', () => {
    const failures = failuresOf((po) => {
      po.lines[0].accountAssignments = [
        { dimensions: { costCenter: 'CC-999', glAccount: '6999' }, percent: '50' },
        { dimensions: { project: 'PRJ-1907', glAccount: '9999' }, percent: '50' },
      ];
      po.lines[1].accountAssignments = [{ dimensions: { project: 'PRJ-0000', glAccount: '6100' }, percent: '100' }];
    });
    expect(failures.map((failure) => [failure.line, failure.field, failure.rule])).toEqual([
      ['1', 'accountAssignments.0.dimensions.costCenter', 'costCenterUnknown'],
      ['1', 'accountAssignments.0.dimensions.glAccount', 'glAccountClosed'],
      ['1', 'accountAssignments.1.dimensions.project', 'projectClosed'],
      ['1', 'accountAssignments.1.dimensions.glAccount', 'glAccountUnknown'],
      ['2', 'accountAssignments.0.dimensions.project', 'projectUnknown'],
    ]);
    expect(failures[1].message).toBe(
      'Line "1", accountAssignments.0.dimensions.glAccount "6999": GL account Suspense (do not use) is closed for postings; charge an open GL account.',
    );
    expect(failures[2].message).toBe(
      'Line "1", accountAssignments.1.dimensions.project "PRJ-1907": project Trade fair Hannover (done) is closed; charge an open project.',
    );
  });

  it('refuses a closed cost center and a project on hold', () => {
    const lookup = demoLookup();
    const closed = {
      ...lookup,
      costCenter: (id: string) =>
        id === 'CC-400' ? { ...lookup.costCenter(id)!, open: false } : lookup.costCenter(id),
      project: () => ({ id: 'PRJ-2001', name: 'ERP migration', modifiedAt: '', status: 'on_hold' as const }),
    };
    const po = order(
      (each) => (each.lines[1].accountAssignments[0].dimensions = { project: 'PRJ-2001', glAccount: '6100' }),
    );
    expect(masterDataFailures(po, closed).map((failure) => [failure.line, failure.rule, failure.message])).toEqual([
      ['1', 'costCenterClosed', expect.stringContaining('cost center Engineering is closed')],
      ['2', 'projectClosed', expect.stringContaining('project ERP migration is on hold')],
    ]);
  });
});

describe("the document's own rules", () => {
  it('passes a valid requisition', () => {
    expect(documentCheck('Requisition', requisition())).toEqual({ wellFormed: true, failures: [] });
  });

  it('a split that does not add up names its line and field; the document stays readable', () => {
    const req = requisition();
    req.lines[1].accountAssignments = [
      { dimensions: { costCenter: 'CC-500', glAccount: '6100' }, percent: '60' },
      { dimensions: { costCenter: 'CC-400', glAccount: '6100' }, percent: '30' },
    ];
    const check = documentCheck('Requisition', req);
    expect(check.wellFormed).toBe(true);
    expect(check.failures).toEqual([
      {
        line: '2',
        field: 'accountAssignments',
        path: '/lines/1/accountAssignments',
        rule: 'split',
        message: expect.stringMatching(/^Line "2", accountAssignments: .*add up to 90\.00, not 100/),
      },
    ]);
  });

  it('split amounts that do not add up to the line amount', () => {
    const req = requisition();
    req.lines[0].accountAssignments = [
      { dimensions: { costCenter: 'CC-400', glAccount: '0650' }, amount: eur('200.00') },
      { dimensions: { costCenter: 'CC-500', glAccount: '0650' }, amount: eur('99.99') },
    ];
    const [failure] = documentCheck('Requisition', req).failures;
    expect(failure).toMatchObject({ line: '1', field: 'accountAssignments', rule: 'split' });
    expect(failure.message).toMatch(/^Line "1", accountAssignments: /);
  });

  it('an unknown currency names the currency field of the header', () => {
    const req = requisition({ currency: 'XEU' });
    const check = documentCheck('Requisition', req);
    expect(check.wellFormed).toBe(true);
    expect(check.failures[0]).toEqual({
      field: 'currency',
      path: '/currency',
      rule: 'currency',
      message: expect.stringContaining('"XEU" is not an active ISO 4217 currency code'),
    });
  });

  it('a wrong shape is not well-formed; each failure still names its line and field', () => {
    const req = requisition() as unknown as { lines: Array<Record<string, unknown>> };
    delete req.lines[1].description;
    req.lines[0].quantity = 2;
    const check = documentCheck('Requisition', req);
    expect(check.wellFormed).toBe(false);
    expect(check.failures.map((failure) => [failure.line, failure.field, failure.rule])).toEqual(
      expect.arrayContaining([
        ['1', 'quantity', 'type'],
        ['2', 'description', 'required'],
      ]),
    );
    expect(check.failures.find((failure) => failure.line === '2')?.message).toMatch(/^Line "2", description: /);
  });

  it('a line without a lineId is named by its position', () => {
    const req = requisition() as unknown as { lines: Array<Record<string, unknown>> };
    delete req.lines[1].lineId;
    const failure = documentCheck('Requisition', req).failures[0];
    expect(failure.line).toBeUndefined();
    expect(failure.message).toMatch(/^Line 2, lineId: /);
  });

  it('line amounts that are not quantity x unit price', () => {
    const req = requisition({ lines: [line({ amount: eur('299.00') })] });
    req.total = eur('299.00');
    expect(documentCheck('Requisition', req).failures).toEqual([
      expect.objectContaining({ line: '1', field: 'amount.amount', rule: 'lineAmount' }),
    ]);
  });
});
