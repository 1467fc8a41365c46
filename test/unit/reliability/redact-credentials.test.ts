/**
 * Dead letters, msg.failure and the audit trail hold messages and error texts from anywhere in a flow, without
 * the ERP connection's secret list: credentials in URLs, query strings and header syntax must still go.
 */
import { redactText } from '../../../lib/erp/redact';
import { readFailedMessage } from '../../../lib/reliability/dead-letter-record';
import { mayHoldCredentials, toRedactedDocumentJson, toRedactedJson } from '../../../lib/reliability/redact';

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

  it('go under the key names people give them; a plain "key" of a key-value pair stays', () => {
    const note = {
      pwd: 'Hunter2!pwd',
      passphrase: 'correct horse',
      privateKey: 'MIIEvQIBADANBg',
      private_key: 'MIIEvQIBADANBg',
      auth: 'c2VjcmV0LXZhbHVl',
      fields: [{ key: 'cost_center', value: 'CC-10' }],
      author: 'Ann',
    };
    for (const copy of [toRedactedJson(note), toRedactedDocumentJson(note)]) {
      expect(copy).toEqual({
        pwd: '[REDACTED]',
        passphrase: '[REDACTED]',
        privateKey: '[REDACTED]',
        private_key: '[REDACTED]',
        auth: '[REDACTED]',
        fields: [{ key: 'cost_center', value: 'CC-10' }],
        author: 'Ann',
      });
    }
  });

  it('go from a business document when they are a JSON Web Token or a PEM private key', () => {
    const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbm4ifQ.c2lnbmF0dXJl';
    const pem = '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg\n-----END PRIVATE KEY-----';
    expect(toRedactedDocumentJson({ comment: `pasted ${jwt} and ${pem}` })).toEqual({
      comment: 'pasted [REDACTED] and [REDACTED]',
    });
  });

  it('are removed by toRedactedJson exactly as redactText removes them', () => {
    const texts = [
      'https://u:pw@host/x',
      'postgres://u:secret@db/x',
      'GET /x?access_token=abc&page=1',
      'Authorization: token key1:sec2',
      'authorization: bearer abc',
      'token a1b2:c3d4',
      'id eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbm4ifQ.c2ln',
      '-----BEGIN EC PRIVATE KEY-----\nMHcCAQEE\n-----END EC PRIVATE KEY-----',
      'plain text',
      'x=1&y=2',
    ];
    for (const text of texts) {
      if (redactText(text, []) !== text) expect(mayHoldCredentials(text)).toBe(true);
      expect(toRedactedJson({ text })).toEqual({ text: redactText(text, []) });
    }
  });
});
