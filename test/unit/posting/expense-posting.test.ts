import { approvalRefusal } from '../../../lib/posting/approval-gate';
import { localDate } from '../../../lib/model/calendar';
import { documentDate, expensePostingRequest } from '../../../lib/posting/expense-posting';
import { externalReferenceFor } from '../../../lib/posting/external-reference';
import { refusalReport } from '../../../lib/posting/refusal';
import { readFailedMessage } from '../../../lib/reliability/dead-letter-record';
import { FinanceError } from '../../../lib/errors';
import { approvedReport } from './fixtures';

describe('externalReferenceFor', () => {
  it('is system:id when it fits, the same for every version of the document', () => {
    expect(externalReferenceFor({ system: 'concur', id: 'RPT-1' })).toBe('concur:RPT-1');
  });

  it('keeps a readable start and a hash when the id is too long, distinct for distinct ids', () => {
    const long = 'x'.repeat(200);
    const a = externalReferenceFor({ system: 'concur', id: `${long}a` });
    const b = externalReferenceFor({ system: 'concur', id: `${long}b` });
    expect(a).toHaveLength(100);
    expect(a.startsWith('concur:xxx')).toBe(true);
    expect(a).toMatch(/~[A-Za-z0-9_-]{22}$/);
    expect(a).not.toBe(b);
    expect(externalReferenceFor({ system: 'concur', id: `${long}a` })).toBe(a);
  });

  it('is only a hash when the limit is short (SAP allows 12 characters)', () => {
    const ref = externalReferenceFor({ system: 'concur', id: '57EE1FDA348046E8A08B' }, 12);
    expect(ref).toMatch(/^[A-Za-z0-9_-]{12}$/);
  });

  it('refuses a limit too short to stay unique', () => {
    expect(() => externalReferenceFor({ system: 's', id: 'i' }, 4)).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID' }),
    );
  });
});

describe('expensePostingRequest', () => {
  const now = new Date(2026, 5, 30, 23, 59); // local time

  it('maps every expense line with its amount, dimensions and a description', () => {
    const request = expensePostingRequest(approvedReport(), { kind: 'payable', postingDate: 'document', now });
    expect(request).toEqual({
      kind: 'payable',
      externalReference: 'concur:RPT-1001',
      employeeId: 'E1011',
      postingDate: '2026-03-10',
      documentDate: '2026-03-10',
      currency: 'EUR',
      lines: [
        {
          lineId: '1',
          amount: { amount: '240.00', currency: 'EUR' },
          dimensions: { costCenter: 'CC-200', glAccount: '6020' },
          description: 'Hotel, 2 nights',
        },
        {
          lineId: '2',
          amount: { amount: '35.50', currency: 'EUR' },
          dimensions: { costCenter: 'CC-200', glAccount: '6000' },
          description: 'Taxi Berlin',
        },
      ],
    });
  });

  it("carries a line's tax code, so the ERP splits the input tax out of the gross amount", () => {
    const report = approvedReport();
    report.lines[0].taxCode = 'DE7';
    const request = expensePostingRequest(report, { kind: 'journal', postingDate: 'document', now });
    expect(request.lines[0].taxCode).toBe('DE7');
    expect(request.lines[1]).not.toHaveProperty('taxCode');
  });

  it('posts on today (the host calendar day) when asked', () => {
    const request = expensePostingRequest(approvedReport(), { kind: 'journal', postingDate: 'today', now });
    expect(request.postingDate).toBe('2026-06-30');
    // The report keeps its own date beside it (SAP's DocumentDate).
    expect(request.documentDate).toBe('2026-03-10');
    expect(localDate(new Date(2026, 0, 5))).toBe('2026-01-05');
  });

  it("takes the document date from submittedAt on the host's calendar, else the latest expense date", () => {
    // Concur writes 23:30 on 31 March in New York as 03:30 UTC on 1 April: a New York host posts it in March.
    const monthEnd = approvedReport({ submittedAt: '2026-04-01T03:30:00Z' });
    expect(documentDate(monthEnd, 'America/New_York')).toBe('2026-03-31');
    expect(documentDate(monthEnd, 'Europe/Berlin')).toBe('2026-04-01');
    // The same day whichever offset the source wrote the moment with.
    const withOffset = approvedReport({ submittedAt: '2026-03-31T23:30:00-04:00' });
    expect(documentDate(withOffset, 'America/New_York')).toBe('2026-03-31');
    expect(documentDate(withOffset, 'UTC')).toBe('2026-04-01');
    // This host's own zone when none is named.
    expect(documentDate(monthEnd)).toBe(localDate(new Date('2026-04-01T03:30:00Z')));
    expect(documentDate(approvedReport({ submittedAt: undefined }))).toBe('2026-03-09');
    expect(() => documentDate({ reportId: 'R', lines: [] })).toThrow(
      expect.objectContaining({ code: 'SCHEMA_INVALID' }),
    );
  });
});

describe('approvalRefusal', () => {
  const document = approvedReport();

  it('lets an approved document through', () => {
    const approval = { state: 'approved', sourceRef: document.sourceRef };
    expect(approvalRefusal({ approval, document, requireApproval: true })).toBeUndefined();
  });

  it.each(['rejected', 'pending_approval', 'returned', 'escalated'])(
    'refuses a document whose approval is %s',
    (state) => {
      const error = approvalRefusal({ approval: { state }, document, requireApproval: true });
      expect(error).toMatchObject({ code: 'NOT_APPROVED', retryable: false });
      expect(error?.message).toContain(`"${state}"`);
    },
  );

  it('refuses a document without msg.approval when approval is required, saying what to do', () => {
    const error = approvalRefusal({ approval: undefined, document, requireApproval: true });
    expect(error?.message).toMatch(/finance-approval.*Require approval/);
  });

  it('without the requirement, judges a document without msg.approval by its own state', () => {
    expect(approvalRefusal({ approval: undefined, document, requireApproval: false })).toBeUndefined();
    const submitted = approvedReport({ state: 'submitted' });
    expect(approvalRefusal({ approval: undefined, document: submitted, requireApproval: false })).toMatchObject({
      code: 'NOT_APPROVED',
    });
  });

  it('refuses an approval without a state, or one about another document', () => {
    expect(approvalRefusal({ approval: 'yes', document, requireApproval: true })?.message).toMatch(/no state/);
    const other = { state: 'approved', sourceRef: { system: 'concur', id: 'RPT-9' } };
    expect(approvalRefusal({ approval: other, document, requireApproval: true })?.message).toMatch(/another document/);
  });
});

describe('refusalReport', () => {
  const node = { id: 'n1', type: 'finance-post', name: 'Post journal' };

  it('carries code, message, HTTP status, the (already redacted) ERP body and the refusing node, nothing else', () => {
    const error = new FinanceError('ERP_REJECTED', 'refused', {
      httpStatus: 422,
      details: { erpBody: { code: 'EMPLOYEE_UNKNOWN' }, method: 'POST', path: '/x' },
    });
    expect(refusalReport(error, node)).toEqual({
      code: 'ERP_REJECTED',
      message: 'refused',
      httpStatus: 422,
      erpBody: { code: 'EMPLOYEE_UNKNOWN' },
      source: { id: 'n1', type: 'finance-post', name: 'Post journal' },
    });
    expect(refusalReport(new FinanceError('NOT_APPROVED', 'no'), { ...node, name: '' })).toEqual({
      code: 'NOT_APPROVED',
      message: 'no',
      source: { id: 'n1', type: 'finance-post' },
    });
  });

  it('names the refusing node the way a Catch message does, so a dead letter made from it names it too', () => {
    const refused = { payload: {}, error: refusalReport(new FinanceError('ERP_REJECTED', 'refused'), node) };
    expect(readFailedMessage(refused).error).toMatchObject({
      code: 'ERP_REJECTED',
      nodeId: 'n1',
      nodeType: 'finance-post',
      nodeName: 'Post journal',
    });
  });
});
