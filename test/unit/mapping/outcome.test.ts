import { FinanceError } from '../../../lib/errors';
import {
  completeMapping,
  envelopeWithDocument,
  jsonataCompileProblem,
  jsonataViolation,
  normaliseDocumentState,
  sourceViolation,
} from '../../../lib/mapping';
import { canonicalReport } from './samples';

describe('completeMapping', () => {
  it.each([
    [undefined, 'nothing'],
    [null, 'null'],
    [[canonicalReport()], 'a list'],
    ['ER-1001', 'a string'],
  ])('refuses a mapping result that is not a document (%p)', (result, described) => {
    expect(completeMapping(result, { docType: 'ExpenseReport' })).toEqual({
      valid: false,
      errors: [
        { path: '', rule: 'type', message: expect.stringContaining(`produced ${described} instead of a document`) },
      ],
    });
  });

  it('needs a known docType when the target is auto', () => {
    const report = canonicalReport();
    report.docType = 'Invoice';
    expect(completeMapping(report, { docType: 'auto' })).toEqual({
      valid: false,
      errors: [{ path: '/docType', rule: 'docType', message: expect.stringContaining('"Invoice"; it must be one of') }],
    });
    delete report.docType;
    expect(completeMapping(report, { docType: 'auto' })).toMatchObject({
      errors: [{ message: expect.stringContaining('docType is missing') }],
    });
  });

  it('reports every money rule broken, not only the first', () => {
    const report = canonicalReport();
    report.total.amount = '270.01';
    report.lines[1].lineId = 'L1';
    report.lines[0].amount.amount = '150.001';
    const outcome = completeMapping(report, { docType: 'ExpenseReport' });
    if (outcome.valid) throw new Error('expected violations');
    expect(outcome.errors.map((error) => error.rule).sort()).toEqual(['precision', 'uniqueLineId']);

    report.lines[0].amount.amount = '150.00';
    const totals = completeMapping(report, { docType: 'ExpenseReport' });
    if (totals.valid) throw new Error('expected violations');
    expect(totals.errors.map((error) => error.rule).sort()).toEqual(['total', 'uniqueLineId']);
  });

  it('reports an unknown source status once, with the code table, not again as a schema enum', () => {
    const report = canonicalReport();
    report.state = 'A_WHAT';
    delete report.employeeId;
    const outcome = completeMapping(report, { docType: 'ExpenseReport', stateSystem: 'concur' });
    if (outcome.valid) throw new Error('expected violations');
    expect(outcome.errors).toEqual([
      {
        path: '/state',
        rule: 'state',
        message: expect.stringContaining('SAP Concur approval status "A_WHAT" is not known'),
      },
      expect.objectContaining({ path: '/employeeId', rule: 'required' }),
    ]);
  });
});

describe('normaliseDocumentState', () => {
  it('translates a vendor code without touching the given object', () => {
    const report = { state: 'pending_info' };
    expect(normaliseDocumentState(report, 'coupa')).toEqual({ document: { state: 'pending_approval' } });
    expect(report.state).toBe('pending_info');
  });

  it('leaves canonical states, and documents without a system, as they are', () => {
    const approved = { state: 'approved' };
    expect(normaliseDocumentState(approved, 'oracle')).toEqual({ document: approved });
    expect((normaliseDocumentState(approved, 'oracle') as { document: object }).document).toBe(approved);
    const vendor = { state: 'A_PEND' };
    expect((normaliseDocumentState(vendor, undefined) as { document: object }).document).toBe(vendor);
  });
});

describe('violations for mapping failures', () => {
  it('turns a profile data error into a violation and leaves other errors to the caller', () => {
    const shape = new FinanceError('SCHEMA_INVALID', 'Concur expense report /reportId: must be a non-empty string.', {
      details: { path: '/reportId' },
    });
    expect(sourceViolation(shape)).toEqual({ path: '/reportId', rule: 'sourceShape', message: shape.message });
    expect(sourceViolation(new FinanceError('INVALID_AMOUNT', 'x', { details: { path: '/' } }))).toEqual({
      path: '',
      rule: 'amount',
      message: 'x',
    });
    expect(sourceViolation(new FinanceError('CONFIG_INVALID', 'bad option'))).toBeUndefined();
    expect(sourceViolation(new TypeError('boom'))).toBeUndefined();
  });

  it('describes a JSONata evaluation error with its code and position, without the data it saw', () => {
    const error = {
      code: 'T2001',
      position: 15,
      token: '*',
      value: 'secret-ish',
      message: 'The left side of the "*" operator must evaluate to a number',
    };
    const violation = jsonataViolation(error);
    expect(violation).toEqual({
      path: '',
      rule: 'jsonata',
      message: expect.stringContaining(
        'failed on this document (error T2001, at character 15, near "*"): The left side',
      ),
    });
    expect(violation.message).not.toContain('secret-ish');
    expect(jsonataViolation({ message: 'boom' }).message).toContain('failed on this document: boom.');
  });

  it('describes an expression that does not compile', () => {
    expect(
      jsonataCompileProblem({
        code: 'S0203',
        position: 9,
        token: '(end)',
        message: 'Expected ")" before end of expression',
      }),
    ).toBe(
      'The JSONata mapping does not compile (error S0203, at character 9, near "(end)"): Expected ")" before end of expression. Fix the expression in the node\'s dialog.',
    );
  });
});

describe('envelopeWithDocument', () => {
  it('fills in docType and docId that intake could not know', () => {
    const envelope = { id: 'evt-1', source: 'concur:abc', correlationId: 'c-1', docType: '', attempt: 1 };
    expect(envelopeWithDocument(envelope, 'ExpenseReport', 'ER-1')).toEqual({
      ...envelope,
      docType: 'ExpenseReport',
      docId: 'ER-1',
    });
  });

  it('keeps what intake set: it is the event identity', () => {
    const envelope = { id: 'evt-1', source: 's', docType: 'ExpenseReport', docId: 'ER-ORIGINAL' };
    expect(envelopeWithDocument(envelope, 'ExpenseReport', 'ER-1')).toEqual(envelope);
  });

  it('starts an envelope for a message that did not come through intake', () => {
    expect(envelopeWithDocument(undefined, 'PurchaseOrder', 'PO-7')).toEqual({
      docType: 'PurchaseOrder',
      docId: 'PO-7',
    });
    expect(envelopeWithDocument('junk', 'PurchaseOrder', 'PO-7')).toEqual({ docType: 'PurchaseOrder', docId: 'PO-7' });
  });
});
