import { FinanceError } from '../../../lib/errors';
import { httpAnswer } from '../../../lib/intake/answer';
import { refusal, type IntakeResult } from '../../../lib/intake/intake';
import { problemFrom } from '../../../lib/intake/problem';
import type { FinanceEnvelope } from '../../../lib/model/types';

const envelope: FinanceEnvelope = {
  id: 'evt-1',
  source: 'urn:test',
  type: 'finance.expense-report.submitted',
  time: '2026-11-27T12:00:00.000Z',
  correlationId: 'corr-1',
  docType: 'ExpenseReport',
  docId: 'ER-1',
  attempt: 1,
};

describe('httpAnswer', () => {
  it('answers an accepted event with 202, its id and correlation id', () => {
    const result: IntakeResult = { outcome: 'accepted', httpStatus: 202, key: 'k', envelope, payload: {} };
    expect(httpAnswer(result)).toEqual({
      status: 202,
      headers: { 'Content-Type': 'application/json' },
      body: { status: 'accepted', id: 'evt-1', correlationId: 'corr-1' },
    });
  });

  it('answers a duplicate with 200 and the first outcome', () => {
    const at = Date.parse('2026-11-27T12:05:00Z');
    const result: IntakeResult = {
      outcome: 'duplicate',
      httpStatus: 200,
      key: 'k',
      envelope,
      firstOutcome: { status: 'posted', at },
    };
    expect(httpAnswer(result)).toEqual({
      status: 200,
      headers: { 'Content-Type': 'application/json' },
      body: {
        status: 'duplicate',
        id: 'evt-1',
        correlationId: 'corr-1',
        outcome: { status: 'posted', at: '2026-11-27T12:05:00.000Z' },
      },
    });
  });

  it('answers refusals as application/problem+json, with Retry-After only when the sender should retry', () => {
    const invalid = httpAnswer(refusal(new FinanceError('SCHEMA_INVALID', 'CloudEvent /id: must be a string.')));
    expect(invalid).toMatchObject({ status: 400, headers: { 'Content-Type': 'application/problem+json' } });
    expect(invalid.headers).not.toHaveProperty('Retry-After');
    const full = httpAnswer(refusal(new FinanceError('STORE_FULL', 'The inbox holds 10 unfinished events.')));
    expect(full).toMatchObject({ status: 503, headers: { 'Retry-After': '30' }, body: { code: 'STORE_FULL' } });
  });

  it('answers an id reused for another event with 409 and the problem, never as a duplicate', () => {
    const detail =
      'The event id "evt-1" of source "urn:test" was already used for another event, received at ' +
      '2026-11-27T12:00:00.000Z: its docId was "ER-1", this event\'s is "ER-2". That event and its outcome stay as ' +
      'they are and this one was not stored; send it with a new id.';
    const result = refusal(new FinanceError('EVENT_ID_REUSED', detail, { details: { field: 'docId' } }));
    expect(result.outcome).toBe('rejected');
    expect(httpAnswer(result)).toEqual({
      status: 409,
      headers: { 'Content-Type': 'application/problem+json' },
      body: {
        type: 'https://finance-sync.dev/problems/event-id-reused',
        title: 'The event id was already used for another event',
        status: 409,
        detail,
        code: 'EVENT_ID_REUSED',
      },
    });
  });
});

describe('problemFrom', () => {
  it('maps each intake code to its HTTP status', () => {
    const statuses = (
      [
        'SIGNATURE_INVALID',
        'PAYLOAD_TOO_LARGE',
        'SCHEMA_INVALID',
        'INVALID_AMOUNT',
        'STORE_FULL',
        'CONFIG_INVALID',
        'EVENT_ID_REUSED',
      ] as const
    ).map((code) => problemFrom(new FinanceError(code, 'x')).status);
    expect(statuses).toEqual([401, 413, 400, 400, 503, 500, 409]);
  });

  it('names the fields of schema violations, or the one field a refusal is about', () => {
    const violations = new FinanceError('SCHEMA_INVALID', 'ExpenseReport is not valid.', {
      details: {
        violations: [{ path: '/total/amount', rule: 'pattern', message: '/total/amount must be a decimal string.' }],
      },
    });
    expect(problemFrom(violations)).toEqual({
      type: 'https://finance-sync.dev/problems/schema-invalid',
      title: 'The event is not valid',
      status: 400,
      detail: 'ExpenseReport is not valid.',
      code: 'SCHEMA_INVALID',
      errors: [{ path: '/total/amount', message: '/total/amount must be a decimal string.' }],
    });
    const one = new FinanceError('INVALID_AMOUNT', 'Concur expenses /0/TransactionAmount: negative.', {
      details: { path: '/0/TransactionAmount' },
    });
    expect(problemFrom(one).errors).toEqual([{ path: '/0/TransactionAmount', message: one.message }]);
  });

  it('keeps the reason of a server-side failure out of the answer', () => {
    const problem = problemFrom(
      new FinanceError('STORE_UNAVAILABLE', 'Could not write /srv/node-red/finance-sync/store: EIO.', {
        details: { path: '/srv/node-red/finance-sync/store' },
      }),
    );
    expect(JSON.stringify(problem)).not.toContain('/srv');
    expect(problem).not.toHaveProperty('errors');
  });
});
