import { FinanceError } from '../../../lib/errors';
import { UnreadableAnswerError } from '../../../lib/erp/http-transport';
import {
  MAX_RETRY_AFTER_MS,
  errorForResponse,
  errorForTransport,
  parseRetryAfter,
  vendorCodeOf,
  vendorMessageOf,
} from '../../../lib/erp/http-errors';
import { MAX_TEXT_LENGTH, REDACTED, redactText, redactValue } from '../../../lib/erp/redact';

const facts = { connection: 'bc', method: 'POST', path: '/purchaseOrders', secrets: ['s3cr3t-value'] };

describe('redaction', () => {
  it('replaces the values of secret-looking keys at any depth', () => {
    const body = {
      error: { code: 'X', password: 'p', nested: [{ access_token: 'abc', client_secret: 'def', apiKey: 'k' }] },
      Authorization: 'Basic Zm9v',
      'X-Api-Key': 'k2',
      note: 'fine',
    };
    expect(redactValue(body, [])).toEqual({
      error: {
        code: 'X',
        password: REDACTED,
        nested: [{ access_token: REDACTED, client_secret: REDACTED, apiKey: REDACTED }],
      },
      Authorization: REDACTED,
      'X-Api-Key': REDACTED,
      note: 'fine',
    });
  });

  it('replaces literal occurrences of configured secrets, the longer first', () => {
    expect(redactText('key abc123 and abc123456 here', ['abc123', 'abc123456'])).toBe(
      `key ${REDACTED} and ${REDACTED} here`,
    );
    expect(redactValue({ detail: 'bad secret s3cr3t-value' }, ['s3cr3t-value'])).toEqual({
      detail: `bad secret ${REDACTED}`,
    });
  });

  it('replaces credentials written in header syntax inside free text', () => {
    expect(redactText('got Authorization: Bearer eyJhbGciOi.x.y from you', [])).toBe(
      `got Authorization: Bearer ${REDACTED} from you`,
    );
  });

  it('cuts long texts short and leaves the original untouched', () => {
    const original = { page: 'x'.repeat(MAX_TEXT_LENGTH + 10) };
    const copy = redactValue(original, []) as { page: string };
    expect(copy.page.length).toBeLessThan(MAX_TEXT_LENGTH + 20);
    expect(copy.page.endsWith('(truncated)')).toBe(true);
    expect(original.page.length).toBe(MAX_TEXT_LENGTH + 10);
  });
});

describe('Retry-After', () => {
  const now = Date.parse('2026-11-27T12:00:00Z');

  it('reads delta-seconds', () => {
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
  });

  it('reads an HTTP-date relative to now, and a date in the past as no wait', () => {
    expect(parseRetryAfter('Fri, 27 Nov 2026 12:01:30 GMT', now)).toBe(90_000);
    expect(parseRetryAfter('Fri, 27 Nov 2026 11:59:00 GMT', now)).toBe(0);
  });

  it('caps an absurd wait at a day, so no timer gets a delay Node would turn into 1 ms', () => {
    expect(MAX_RETRY_AFTER_MS).toBe(86_400_000);
    expect(parseRetryAfter('86400', now)).toBe(86_400_000);
    expect(parseRetryAfter('3000000', now)).toBe(MAX_RETRY_AFTER_MS);
    expect(parseRetryAfter('9'.repeat(400), now)).toBe(MAX_RETRY_AFTER_MS);
    expect(parseRetryAfter('Fri, 27 Nov 2099 12:00:00 GMT', now)).toBe(MAX_RETRY_AFTER_MS);
  });

  it('reads the obsolete RFC 850 and asctime forms of an HTTP-date too', () => {
    expect(parseRetryAfter('Friday, 27-Nov-26 12:01:30 GMT', now)).toBe(90_000);
    expect(parseRetryAfter('Fri Nov 27 12:01:30 2026', now)).toBe(90_000);
    expect(parseRetryAfter('Sun Nov  1 12:00:00 2026', now)).toBe(0); // asctime pads a one-digit day with a space
    // A two-digit year more than 50 years ahead is in the past century (RFC 9110 5.6.7): no wait.
    expect(parseRetryAfter('Friday, 27-Nov-80 12:01:30 GMT', now)).toBe(0);
  });

  it('ignores what it cannot read', () => {
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
    expect(parseRetryAfter('-5', now)).toBeUndefined();
    expect(parseRetryAfter('1.5', now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
  });

  it.each([
    'a 1',
    'Dec 2099',
    '2026-11-27T12:01:30Z',
    'Fri, 27 Nov 2026 12:01:30 +0000',
    'Fri, 27 Nov 2026 12:01:30',
    'Fri, 27 Nov 2026',
    'Fri, 7 Nov 2026 12:01:30 GMT',
    'Fri, 31 Feb 2026 12:01:30 GMT',
    'Fri, 27 Nov 2026 25:01:30 GMT',
    'Fri, 27 Nov 2026 12:01:30 GMT trailing',
    'Sat, 27 Nov 26 12:01:30 GMT',
  ])('ignores %j, which is none of the HTTP-date forms', (value) => {
    expect(parseRetryAfter(value, now)).toBeUndefined();
  });
});

describe('vendor codes and messages', () => {
  it.each([
    [
      'problem+json',
      { title: 'Conflict', detail: 'exists', code: 'DUPLICATE_REFERENCE' },
      'DUPLICATE_REFERENCE',
      'exists',
    ],
    [
      'OData v4 (Business Central)',
      { error: { code: 'Internal_EntityNotFound', message: 'gone' } },
      'Internal_EntityNotFound',
      'gone',
    ],
    [
      'OData v2 (SAP)',
      { error: { code: 'BP/604', message: { lang: 'en', value: 'budget exceeded' } } },
      'BP/604',
      'budget exceeded',
    ],
    ['Frappe', { exc_type: 'ValidationError', message: 'bad' }, 'ValidationError', 'bad'],
    ['NetSuite', { 'o:errorDetails': [{ 'o:errorCode': 'INVALID_KEY', detail: 'no such' }] }, 'INVALID_KEY', 'no such'],
  ])('reads %s', (_vendor, body, code, message) => {
    expect(vendorCodeOf(body)).toBe(code);
    expect(vendorMessageOf(body)).toBe(message);
  });

  it('takes a plain-text body as the message but not an HTML page', () => {
    expect(vendorMessageOf('Service busy')).toBe('Service busy');
    expect(vendorMessageOf('<html><body>502</body></html>')).toBeUndefined();
  });
});

describe('errorForResponse', () => {
  it('redacts the vendor message in the error message and the body in details', () => {
    const error = errorForResponse(
      facts,
      { status: 400, headers: {}, data: { detail: 'client_secret s3cr3t-value is wrong', password: 'hunter2' } },
      0,
    );
    expect(error.message).not.toContain('s3cr3t-value');
    expect(JSON.stringify(error)).not.toContain('s3cr3t-value');
    expect(JSON.stringify(error)).not.toContain('hunter2');
    expect(error.details).toMatchObject({ method: 'POST', path: '/purchaseOrders' });
  });

  it('names the redirect target without its query and never calls a redirect success', () => {
    const error = errorForResponse(
      facts,
      { status: 302, headers: { location: 'https://other.example/login?sig=abc' }, data: '' },
      0,
    );
    expect(error.code).toBe('ERP_REJECTED');
    expect(error.message).toContain('https://other.example/login');
    expect(error.message).not.toContain('sig=abc');
  });
});

describe('errorForTransport', () => {
  it('says a certificate problem is not retryable and what to fix', () => {
    const error = errorForTransport(facts, { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }, {});
    expect(error).toBeInstanceOf(FinanceError);
    expect(error.code).toBe('ERP_UNAVAILABLE');
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('CA certificate');
  });

  it('reads the socket code under a generic axios code', () => {
    const error = errorForTransport(facts, { code: 'ERR_NETWORK', cause: { code: 'EHOSTUNREACH' } }, {});
    expect(error.retryable).toBe(true);
    expect(error.details).toMatchObject({ transportCode: 'EHOSTUNREACH' });
  });

  it('warns that a write may have been applied when the connection failed mid-call', () => {
    expect(errorForTransport(facts, { code: 'ECONNRESET' }, {}).message).toContain('external reference');
    expect(errorForTransport({ ...facts, method: 'GET' }, { code: 'ECONNRESET' }, {}).message).not.toContain(
      'external reference',
    );
  });

  it('keeps the status of an answer whose body could not be read, and redacts the reason', () => {
    const broken = new UnreadableAnswerError(201, 'undecodable', 'Z_DATA_ERROR', 'bad header near s3cr3t-value');
    const error = errorForTransport(facts, broken, {});
    expect(error).toMatchObject({ code: 'ERP_UNAVAILABLE', retryable: true, httpStatus: 201 });
    expect(error.message).toContain('answered 201 to POST /purchaseOrders, but its body could not be decoded');
    expect(error.message).toContain('external reference');
    expect(JSON.stringify(error)).not.toContain('s3cr3t-value');
  });

  it('lets our own deadline win over a body broken off by it', () => {
    const broken = new UnreadableAnswerError(200, 'cut-off', 'ECONNRESET', 'aborted');
    expect(errorForTransport(facts, broken, { timedOutAfterMs: 50 }).code).toBe('ERP_TIMEOUT');
  });
});
