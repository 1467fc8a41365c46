import { isDecisionMessage, parseDecision } from '../../../lib/approval/decision-input';

const NOW = new Date('2025-03-12T10:00:00.000Z');

describe('isDecisionMessage', () => {
  it('recognises the decision topic and canonical ApprovalEvents, nothing else', () => {
    expect(isDecisionMessage({ topic: 'decision', payload: {} })).toBe(true);
    expect(isDecisionMessage({ payload: { docType: 'ApprovalEvent' } })).toBe(true);
    expect(isDecisionMessage({ payload: { docType: 'ExpenseReport' } })).toBe(false);
    expect(isDecisionMessage({ topic: 'Decision', payload: null })).toBe(false);
    expect(isDecisionMessage({ payload: 'approve' })).toBe(false);
  });
});

describe('parseDecision', () => {
  it('reads a decision about a source reference and keeps what the approver sent', () => {
    expect(
      parseDecision(
        {
          docType: 'ApprovalEvent',
          subject: { system: 'concur', id: 'RPT-1', version: 2 },
          decision: 'reject',
          approver: 'E200',
          comment: 'No receipts',
          decidedAt: '2025-03-12T09:30:00Z',
        },
        NOW,
      ),
    ).toEqual({
      target: { subject: { system: 'concur', id: 'RPT-1', version: 2 } },
      decision: { decision: 'reject', approver: 'E200', comment: 'No receipts', decidedAt: '2025-03-12T09:30:00Z' },
    });
  });

  it('takes a report id instead of a subject, and the time of arrival when decidedAt is missing', () => {
    expect(parseDecision({ reportId: 'RPT-9', decision: 'approve', approver: 'E300', stage: 2 }, NOW)).toEqual({
      target: { reportId: 'RPT-9' },
      decision: { decision: 'approve', approver: 'E300', decidedAt: NOW.toISOString(), stage: 2 },
    });
  });

  it('keeps the version the approver saw, next to a report id or in the subject', () => {
    expect(parseDecision({ reportId: 'RPT-9', version: 3, decision: 'approve', approver: 'E300' }, NOW).target).toEqual(
      { reportId: 'RPT-9', version: 3 },
    );
    expect(
      parseDecision(
        { subject: { system: 'concur', id: 'RPT-1' }, version: 0, decision: 'approve', approver: 'E3' },
        NOW,
      ).target,
    ).toEqual({ subject: { system: 'concur', id: 'RPT-1', version: 0 } });
    expect(parseDecision({ reportId: 'RPT-9', decision: 'approve', approver: 'E300' }, NOW).target).toEqual({
      reportId: 'RPT-9',
    });
  });

  it.each([
    ['a text payload', 'approve', 'payload'],
    ['an unknown decision', { reportId: 'R', decision: 'ok', approver: 'E1' }, 'decision'],
    ['no approver', { reportId: 'R', decision: 'approve' }, 'approver'],
    [
      'a date without a zone',
      { reportId: 'R', decision: 'approve', approver: 'E1', decidedAt: '2025-03-12 10:00' },
      'decidedAt',
    ],
    ['a numeric comment', { reportId: 'R', decision: 'approve', approver: 'E1', comment: 5 }, 'comment'],
    ['stage zero', { reportId: 'R', decision: 'approve', approver: 'E1', stage: 0 }, 'stage'],
    ['no document', { decision: 'approve', approver: 'E1' }, 'subject'],
    ['a subject without id', { subject: { system: 'concur' }, decision: 'approve', approver: 'E1' }, 'subject.id'],
    ['a subject without system', { subject: { id: 'R' }, decision: 'approve', approver: 'E1' }, 'subject.system'],
    ['a text subject', { subject: 'R', decision: 'approve', approver: 'E1' }, 'subject'],
    ['a text version', { reportId: 'R', version: '2', decision: 'approve', approver: 'E1' }, 'version'],
    ['a negative version', { reportId: 'R', version: -1, decision: 'approve', approver: 'E1' }, 'version'],
    [
      'a fractional subject version',
      { subject: { system: 'concur', id: 'R', version: 1.5 }, decision: 'approve', approver: 'E1' },
      'subject.version',
    ],
    [
      'two different versions',
      { subject: { system: 'concur', id: 'R', version: 1 }, version: 2, decision: 'approve', approver: 'E1' },
      'version',
    ],
  ])('refuses %s with SCHEMA_INVALID naming the field', (_what, payload, field) => {
    expect(() => parseDecision(payload, NOW)).toThrow(
      expect.objectContaining({ code: 'SCHEMA_INVALID', details: { field } }),
    );
  });
});
