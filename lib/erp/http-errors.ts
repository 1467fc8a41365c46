/**
 * Turns what went wrong on the wire into a FinanceError with one of the pack's codes (DESIGN sections 5
 * and 7), so Catch, retry and dead-letter nodes act on `code` and `retryable` without knowing the ERP.
 * Every message names the connection, the call and what to do; the ERP's body is carried redacted.
 */
import { FinanceError, isFinanceError, type ErrorCode } from '../errors';
import { withoutQuery } from './config';
import { UnreadableAnswerError, describeBytes } from './http-transport';
import { isRecord } from './records';
import { redactText, redactValue } from './redact';

export interface CallFacts {
  connection: string;
  method: string;
  /** The request path without its query string. */
  path: string;
  /** Values to scrub from anything the ERP sends back. */
  secrets: readonly string[];
}

export interface FailedResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  data: unknown;
}

interface StatusRule {
  code: ErrorCode;
  retryable: boolean;
  advice: string;
}

const UNAVAILABLE: StatusRule = {
  code: 'ERP_UNAVAILABLE',
  retryable: true,
  advice: 'The ERP is unavailable for now; the call is retryable.',
};

const STATUS_RULES: Record<number, StatusRule> = {
  401: {
    code: 'ERP_AUTH_FAILED',
    retryable: false,
    advice: 'Check the credentials of the ERP connection.',
  },
  403: {
    code: 'ERP_AUTH_FAILED',
    retryable: false,
    advice: 'Check that the ERP user or app behind the connection has permission for this call.',
  },
  404: {
    code: 'ERP_NOT_FOUND',
    retryable: false,
    advice: 'Check the document id or reference, the company and the base URL of the connection.',
  },
  408: UNAVAILABLE,
  409: {
    code: 'ERP_CONFLICT',
    retryable: false,
    advice: 'The document exists already or is in a state that does not allow this; look it up and decide.',
  },
  412: {
    code: 'ERP_CONFLICT',
    retryable: false,
    advice: 'The document changed in the ERP since it was read; read it again and reapply the change.',
  },
  425: UNAVAILABLE,
  429: {
    code: 'ERP_RATE_LIMITED',
    retryable: true,
    advice:
      'The ERP is throttling this connection; the call is retryable after the wait it asked for. Lower the connection rate limit if this repeats.',
  },
  500: UNAVAILABLE,
  502: UNAVAILABLE,
  503: UNAVAILABLE,
  504: UNAVAILABLE,
};

const REJECTED: StatusRule = {
  code: 'ERP_REJECTED',
  retryable: false,
  advice:
    'The ERP refused the request as it is; correct the data (see erpBody) and replay it from the dead-letter queue.',
};

const OTHER_SERVER_ERROR: StatusRule = {
  code: 'ERP_UNAVAILABLE',
  retryable: false,
  advice: 'This server error is not one that goes away by retrying; check the ERP and the connection settings.',
};

const REDIRECT: StatusRule = {
  code: 'ERP_REJECTED',
  retryable: false,
  advice:
    'ERP calls never follow redirects (a write must not land somewhere else); set the base URL to the final address.',
};

/** A server certificate that did not pass the checks: retrying cannot fix it, the TLS settings or the URL can. */
export const CERTIFICATE_ERROR_CODES: ReadonlySet<string> = new Set([
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** TLS problems: retrying cannot fix them, the TLS settings can (a plain HTTP server behind an https:// URL too). */
const TLS_ERROR_CODES = new Set([...CERTIFICATE_ERROR_CODES, 'ERR_SSL_WRONG_VERSION_NUMBER']);

/**
 * Node refused to build the request (a header value or the path holds a character HTTP cannot carry): it was
 * never sent, and sending it again fails the same way.
 */
const UNSENDABLE_CODES = new Set([
  'ERR_INVALID_CHAR',
  'ERR_INVALID_HTTP_TOKEN',
  'ERR_HTTP_INVALID_HEADER_VALUE',
  'ERR_UNESCAPED_CHARACTERS',
]);

export function errorForResponse(facts: CallFacts, response: FailedResponse, nowMs: number): FinanceError {
  const { status } = response;
  const rule =
    STATUS_RULES[status] ?? (status >= 300 && status < 400 ? REDIRECT : status >= 500 ? OTHER_SERVER_ERROR : REJECTED);
  const erpBody =
    response.data === '' || response.data === undefined ? undefined : redactValue(response.data, facts.secrets);
  const vendorCode = vendorCodeOf(response.data);
  const vendorMessage = vendorMessageOf(response.data);
  const retryAfterMs = parseRetryAfter(header(response.headers, 'retry-after'), nowMs);
  const location = header(response.headers, 'location');
  const said = vendorMessage ? `: ${shorten(redactText(vendorMessage, facts.secrets))}` : '';
  const redirect = rule === REDIRECT && location ? ` (to ${redactText(withoutQuery(location), facts.secrets)})` : '';
  return new FinanceError(
    rule.code,
    `ERP "${facts.connection}" answered ${status} to ${facts.method} ${facts.path}${redirect}${said}. ${rule.advice}`,
    {
      httpStatus: status,
      retryable: rule.retryable,
      retryAfterMs,
      details: { method: facts.method, path: facts.path, erpBody, vendorCode },
    },
  );
}

/**
 * The longest Retry-After honoured: one day. An ERP or a proxy that asks for more (a misconfigured
 * "3000000") is more likely wrong than meaning it, and a wait beyond 2^31-1 ms (24.8 days) would make
 * setTimeout fire after 1 ms instead: a poller or a retry would hammer the ERP instead of backing off.
 */
export const MAX_RETRY_AFTER_MS = 24 * 60 * 60 * 1000;

/**
 * A failure of the exchange: no HTTP answer (refused or reset connection, DNS, TLS, our own deadline), or an
 * answer whose body could not be read.
 */
export function errorForTransport(
  facts: CallFacts,
  error: unknown,
  outcome: { timedOutAfterMs?: number },
): FinanceError {
  const details = { method: facts.method, path: facts.path, transportCode: transportCodeOf(error) };
  const ambiguity = ambiguityOf(facts);
  if (outcome.timedOutAfterMs !== undefined || details.transportCode === 'ETIMEDOUT') {
    const after = outcome.timedOutAfterMs !== undefined ? ` within ${outcome.timedOutAfterMs} ms` : '';
    return new FinanceError(
      'ERP_TIMEOUT',
      `ERP "${facts.connection}" did not answer ${facts.method} ${facts.path}${after}. The call is retryable; raise timeoutMs if the ERP is just slow.${ambiguity}`,
      { retryable: true, details },
    );
  }
  if (error instanceof UnreadableAnswerError) return errorForUnreadableAnswer(facts, error);
  if (details.transportCode !== undefined && UNSENDABLE_CODES.has(details.transportCode)) {
    return new FinanceError(
      'ERP_REJECTED',
      `ERP "${facts.connection}": ${facts.method} ${facts.path} was not sent: a header or the path holds a character HTTP cannot carry (${details.transportCode}). Retrying will not help; check the values this call sends (a reference, a credential copied with a line break).`,
      { retryable: false, details: { ...details, sent: false } },
    );
  }
  if (details.transportCode !== undefined && TLS_ERROR_CODES.has(details.transportCode)) {
    return new FinanceError(
      'ERP_UNAVAILABLE',
      `ERP "${facts.connection}": the TLS connection for ${facts.method} ${facts.path} failed (${details.transportCode}). Retrying will not help: add the ERP's CA certificate in the TLS settings, or fix the host name or scheme of the base URL.`,
      { retryable: false, details },
    );
  }
  const why = details.transportCode ?? 'network error';
  return new FinanceError(
    'ERP_UNAVAILABLE',
    `Could not reach ERP "${facts.connection}" for ${facts.method} ${facts.path} (${why}). The call is retryable; if this keeps happening, check the base URL and that the ERP is reachable from this host.${ambiguity}`,
    { retryable: true, details },
  );
}

/**
 * The ERP answered but its body could not be read. Retryable like a failure without an answer, and for a
 * write just as ambiguous: a 2xx whose body is lost may well mean the document was created, so the ledger
 * must look it up before sending it again. The status is kept: it is what the ERP said.
 */
function errorForUnreadableAnswer(facts: CallFacts, error: UnreadableAnswerError): FinanceError {
  const answered = `ERP "${facts.connection}" answered ${error.status} to ${facts.method} ${facts.path}`;
  const details: Record<string, unknown> = { method: facts.method, path: facts.path, transportCode: error.code };
  let message: string;
  if (error.kind === 'too-large') {
    details.maxAnswerBytes = error.limitBytes;
    const limit = error.limitBytes === undefined ? 'the limit' : describeBytes(error.limitBytes);
    message = `${answered}, but the answer is larger than ${limit}, the most the pack reads, so it was not read. Retrying will most likely get the same answer: ask for less per call (a smaller page size or a narrower filter), or check that the base URL points at the ERP's API.`;
  } else {
    const reason = shorten(redactText(`${error.code}: ${error.message}`, facts.secrets));
    const what = error.kind === 'cut-off' ? 'was cut off before its end' : 'could not be decoded';
    message = `${answered}, but its body ${what} (${reason}). The call is retryable; if this keeps happening, check the ERP or a proxy in between that compresses or cuts off answers.`;
  }
  return new FinanceError('ERP_UNAVAILABLE', message + ambiguityOf(facts), {
    httpStatus: error.status,
    retryable: true,
    details,
  });
}

/** For a write without a readable answer: whether it was applied is unknown, and what to do about it. */
function ambiguityOf(facts: CallFacts): string {
  const write = facts.method !== 'GET' && facts.method !== 'HEAD';
  return write
    ? ' The ERP may or may not have applied this write; look the document up by its external reference before sending it again.'
    : '';
}

/**
 * The ERP's final no to a request, which it did not apply: a 4xx answer that is not retryable (so not a 408,
 * 425 or 429). A dialect that changed a document in several requests puts it back after one of these; after
 * any other failure the request may have been applied, and the retry of the whole change finishes it.
 */
export function isFinalRefusal(error: unknown): error is FinanceError {
  const status = isFinanceError(error) && !error.retryable ? error.httpStatus : undefined;
  return status !== undefined && status >= 400 && status < 500;
}

/**
 * How an "answered in a shape this dialect does not know" error ends. Such an answer comes from a base URL that
 * points elsewhere or from another API version, which retrying does not change. It may have been the 2xx of a
 * write, though: then the write most likely took effect, and since the ledger keeps its note after anything but a
 * final refusal, a replay looks the document up before it writes.
 */
export const UNKNOWN_SHAPE_ADVICE =
  'retrying will not help. If this was the answer to a write, the write most likely took effect: check the document in the ERP; a replay looks it up before it sends anything again.';

/**
 * A purchase order change the ERP refused part-way, which could not be put back either: the refusal as it came
 * (code, status, retryability), why putting it back failed, what a person must check, and details.restored false.
 */
export function notPutBack(refusal: FinanceError, restoreError: unknown, check: string): FinanceError {
  const why = isFinanceError(restoreError) ? restoreError.message : String(restoreError);
  return new FinanceError(
    refusal.code,
    `${refusal.message} The purchase order could not be put back as it was before this change (${why}): ${check}`,
    {
      httpStatus: refusal.httpStatus,
      retryable: refusal.retryable,
      details: { ...refusal.details, restored: false },
      cause: refusal,
    },
  );
}

/**
 * Retry-After as milliseconds from `nowMs` (wall clock): delta-seconds or an HTTP-date (RFC 9110 10.2.3),
 * at most MAX_RETRY_AFTER_MS (see there). Anything else is ignored rather than guessed at.
 */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | undefined {
  const waitMs = retryAfterMs(value, nowMs);
  return waitMs === undefined ? undefined : Math.min(waitMs, MAX_RETRY_AFTER_MS);
}

const DELTA_SECONDS = /^\d+$/;
/*
 * The three HTTP-date forms of RFC 9110 5.6.7, exactly: Date.parse would also read "a 1" or "Dec 2099" as
 * dates and make a retry wait for a time nobody asked for.
 */
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const DAY_NAME = '(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)';
const MONTH = `(?<month>${MONTHS.join('|')})`;
const TIME_OF_DAY = '(?<hour>\\d{2}):(?<minute>\\d{2}):(?<second>\\d{2})';
/** IMF-fixdate, the one senders must use: "Sun, 06 Nov 1994 08:49:37 GMT". */
const IMF_FIXDATE = new RegExp(`^${DAY_NAME}, (?<day>\\d{2}) ${MONTH} (?<year>\\d{4}) ${TIME_OF_DAY} GMT$`);
/** Obsolete RFC 850 form: "Sunday, 06-Nov-94 08:49:37 GMT". */
const RFC850_DATE = new RegExp(
  `^(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), (?<day>\\d{2})-${MONTH}-(?<year>\\d{2}) ${TIME_OF_DAY} GMT$`,
);
/** Obsolete asctime() form: "Sun Nov  6 08:49:37 1994". */
const ASCTIME_DATE = new RegExp(`^${DAY_NAME} ${MONTH} (?<day>\\d{2}| \\d) ${TIME_OF_DAY} (?<year>\\d{4})$`);

function retryAfterMs(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (DELTA_SECONDS.test(text)) return Number(text) * 1000;
  const at = httpDateMs(text, nowMs);
  return at === undefined ? undefined : Math.max(0, at - nowMs);
}

/** An HTTP-date as epoch ms, or undefined when `text` is none of the three forms or no real date. */
function httpDateMs(text: string, nowMs: number): number | undefined {
  const fields = (IMF_FIXDATE.exec(text) ?? RFC850_DATE.exec(text) ?? ASCTIME_DATE.exec(text))?.groups;
  if (fields === undefined) return undefined;
  const [day, hour, minute, second] = [fields.day, fields.hour, fields.minute, fields.second].map(Number);
  const year = fields.year.length === 2 ? rfc850Year(Number(fields.year), nowMs) : Number(fields.year);
  if (day < 1 || hour > 23 || minute > 59 || second > 60) return undefined;
  const midnight = new Date(Date.UTC(year, MONTHS.indexOf(fields.month), day));
  // Date.UTC rolls 31 Feb over into March: such a date is not one.
  if (midnight.getUTCDate() !== day) return undefined;
  return midnight.getTime() + ((hour * 60 + minute) * 60 + second) * 1000;
}

/** RFC 9110 5.6.7: a two-digit year more than 50 years ahead is the latest past year with those digits. */
function rfc850Year(twoDigits: number, nowMs: number): number {
  const thisYear = new Date(nowMs).getUTCFullYear();
  const year = thisYear - (thisYear % 100) + twoDigits;
  return year > thisYear + 50 ? year - 100 : year;
}

/**
 * The ERP's own error code: problem+json `code`, OData `error.code` (Business Central, SAP), Frappe
 * `exc_type`, NetSuite `o:errorDetails[0].o:errorCode`, Concur `errorId`.
 */
export function vendorCodeOf(body: unknown): string | undefined {
  if (!isRecord(body)) return undefined;
  const odata = isRecord(body.error) ? body.error.code : undefined;
  const netsuite =
    Array.isArray(body['o:errorDetails']) && isRecord(body['o:errorDetails'][0])
      ? body['o:errorDetails'][0]['o:errorCode']
      : undefined;
  return firstString(body.code, odata, body.exc_type, netsuite, body.errorCode, body.errorId);
}

/** The ERP's human explanation, from the same vendor shapes as vendorCodeOf (SAP v2 nests it in `value`). */
export function vendorMessageOf(body: unknown): string | undefined {
  if (typeof body === 'string') return body.trim() === '' || /^\s*</.test(body) ? undefined : body;
  if (!isRecord(body)) return undefined;
  const error = isRecord(body.error) ? body.error : {};
  const odataMessage = isRecord(error.message) ? error.message.value : error.message;
  const netsuite =
    Array.isArray(body['o:errorDetails']) && isRecord(body['o:errorDetails'][0])
      ? body['o:errorDetails'][0].detail
      : undefined;
  return firstString(body.detail, odataMessage, netsuite, body.errorMessage, body.message, body.title, body.exception);
}

/** The socket or axios error code of a failure without an HTTP answer (ECONNREFUSED, ECONNRESET...). */
export function transportCodeOf(error: unknown): string | undefined {
  if (!isRecord(error)) return undefined;
  const code = typeof error.code === 'string' ? error.code : undefined;
  const causeCode = isRecord(error.cause) && typeof error.cause.code === 'string' ? error.cause.code : undefined;
  // axios reports some socket failures under its own generic code; the socket's code says more.
  return code === 'ERR_NETWORK' || code === 'ERR_BAD_RESPONSE' || code === undefined ? (causeCode ?? code) : code;
}

function header(headers: FailedResponse['headers'], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** One line, bounded, without a closing full stop (the message adds its own). */
function shorten(text: string): string {
  const oneLine = text
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/[.\s]+$/, '');
  return oneLine.length > 300 ? `${oneLine.slice(0, 300)}...` : oneLine;
}

function firstString(...values: unknown[]): string | undefined {
  return values.find((value): value is string => typeof value === 'string' && value !== '');
}
