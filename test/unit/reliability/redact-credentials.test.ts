/**
 * Dead letters, msg.failure and the audit trail hold messages and error texts from anywhere in a flow, without
 * the ERP connection's secret list: credentials in URLs, query strings and header syntax must still go.
 */
import { redactText } from '../../../lib/erp/redact';
import { readFailedMessage } from '../../../lib/reliability/dead-letter-record';
import { mayHoldCredentials, toRedactedJson } from '../../../lib/reliability/redact';

const SECRETS = ['pw77', 't0k', 'k1:s2', 'abc999', 'eyJhbGci.x.y'];

describe('credentials in free text', () => {
  it('are not kept in a dead letter, neither in the error text nor in the original message', () => {
    const letter = readFailedMessage({
      _msgid: 'm1',
      error: {
        message: 'Error: request to https://ann:pw77@erp.example.com/x?token=t0k failed (Authorization: token k1:s2)',
      },
      url: 'https://ann:pw77@erp.example.com/x?sig=abc999',
      note: 'sent authorization: bearer eyJhbGci.x.y',
      finance: { source: 'ramp', id: 'e1' },
    });
    const stored = JSON.stringify(letter);
    for (const secret of SECRETS) expect(stored).not.toContain(secret);
    expect(letter.original.finance).toEqual({ source: 'ramp', id: 'e1' });
  });

  it("leave the business document's prose as it is, so a replay sends the ERP what the original did", () => {
    const payload = {
      businessPurpose: 'Basic meal allowance; travel authorization: approved by CFO',
      lines: [{ description: 'Bearer bonds seminar, token fee: 5' }],
      apiToken: 'abc999',
      echoed: 'sent Basic dXNlcjpwYXNz and Bearer eyJhbGciOiJIUzI1NiJ9.e30.c2ln to https://ann:pw77@erp.example.com',
      lowerCase: 'authorization: bearer eyJhbGciOiJIUzI1NiJ9.e30.c2ln',
    };
    const letter = readFailedMessage({
      _msgid: 'm2',
      error: { message: 'refused' },
      payload,
      note: 'Basic meal allowance',
    });
    expect(letter.original.payload).toEqual({
      businessPurpose: payload.businessPurpose,
      lines: payload.lines,
      apiToken: '[REDACTED]',
      echoed: 'sent Basic [REDACTED] and Bearer [REDACTED] to https://[REDACTED]@erp.example.com',
      lowerCase: 'authorization: bearer [REDACTED]',
    });
    // Outside the document every pattern applies, as before.
    expect(letter.original.note).toBe('Basic [REDACTED] allowance');
  });

  it('are removed by toRedactedJson exactly as redactText removes them', () => {
    const texts = [
      'https://u:pw@host/x',
      'postgres://u:secret@db/x',
      'GET /x?access_token=abc&page=1',
      'Authorization: token key1:sec2',
      'authorization: bearer abc',
      'token a1b2:c3d4',
      'plain text',
      'x=1&y=2',
    ];
    for (const text of texts) {
      if (redactText(text, []) !== text) expect(mayHoldCredentials(text)).toBe(true);
      expect(toRedactedJson({ text })).toEqual({ text: redactText(text, []) });
    }
  });
});
