/**
 * Webhook signature verification (DESIGN section 8). It runs on the raw body bytes, before any JSON parse:
 * parsing and re-serialising changes whitespace and key order, and the HMAC is over the exact bytes sent.
 *
 * Comparisons go through `crypto.timingSafeEqual` on buffers of equal length, so the time a check takes
 * says nothing about how many bytes of a forged signature were right. Errors say which check failed and
 * never contain a secret, the expected signature or the signature that was sent.
 */
import { createHmac, randomUUID, timingSafeEqual } from 'crypto';
import { FinanceError } from '../errors';
import { headerValues, type HeaderMap } from './headers';

export const SIGNATURE_SCHEMES = ['ramp', 'standard-webhooks', 'generic', 'none'] as const;
export type SignatureScheme = (typeof SIGNATURE_SCHEMES)[number];

/** How far a signed timestamp may be from this host's clock, either way (Standard Webhooks' default). */
export const DEFAULT_TOLERANCE_SECONDS = 300;

export const RAMP_SIGNATURE_HEADER = 'X-Ramp-Webhook-Signature';
export const STANDARD_WEBHOOK_ID_HEADER = 'webhook-id';
export const STANDARD_WEBHOOK_TIMESTAMP_HEADER = 'webhook-timestamp';
export const STANDARD_WEBHOOK_SIGNATURE_HEADER = 'webhook-signature';
export const GENERIC_TIMESTAMP_HEADER = 'X-Finance-Timestamp';
export const GENERIC_SIGNATURE_HEADER = 'X-Finance-Signature';

export interface SignedRequest {
  headers: HeaderMap;
  /** The body exactly as received. */
  rawBody: Buffer;
  /** Every secret currently valid; during a rotation both the old and the new one. */
  secrets: readonly string[];
}

export interface VerifyOptions {
  toleranceSeconds?: number;
  /**
   * Skips only the check that the signed timestamp is not older than the tolerance; its form, the HMAC over it
   * and the check against a timestamp in the future stay. For events a broker held for this host (the MQTT
   * intake's persistent session keeps messages for days while the node is stopped): the timestamp says when the
   * sender signed, which for those is not when they arrive. The caller must stop replays another way (the
   * intake: de-duplication, and refusing events older than its duplicate memory, as for Ramp).
   */
  acceptOldTimestamps?: boolean;
  /** Current time in milliseconds; injected so tests need no real clock. */
  now?: () => number;
}

export interface SignOptions {
  /** Unix seconds; defaults to now. */
  timestamp?: number;
  /** Message id for Standard Webhooks; defaults to a random one. */
  id?: string;
}

/** What a valid signature vouches for beyond the body. */
export interface VerifiedSignature {
  /** The signed timestamp (unix seconds), for the schemes that sign one. */
  signedAt?: number;
}

type FailureReason = 'missing_header' | 'malformed_header' | 'stale_timestamp' | 'future_timestamp' | 'no_match';

const HEX_SHA256 = /^[0-9a-fA-F]{64}$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const UNIX_SECONDS = /^\d{1,12}$/;
const GENERIC_PREFIX = 'sha256=';
const SVIX_SECRET_PREFIX = 'whsec_';

export function isSignatureScheme(value: unknown): value is SignatureScheme {
  return typeof value === 'string' && (SIGNATURE_SCHEMES as readonly string[]).includes(value);
}

/** Returns when the request carries a valid signature; throws FinanceError('SIGNATURE_INVALID') otherwise. */
export function verifySignature(
  scheme: SignatureScheme,
  request: SignedRequest,
  options: VerifyOptions = {},
): VerifiedSignature {
  if (!isSignatureScheme(scheme)) throw unknownScheme(scheme);
  // 'none' is for trusted upstream nodes (an MQTT subscription on a private broker, a relay that already
  // verified the sender): there is nothing to check.
  if (scheme === 'none') return {};

  if (!Buffer.isBuffer(request.rawBody)) {
    throw new FinanceError(
      'CONFIG_INVALID',
      'Signature verification needs the raw request body as a Buffer: a parsed and re-serialised body no longer ' +
        'has the bytes that were signed.',
    );
  }
  const secrets = checkedSecrets(scheme, request.secrets);
  const toleranceSeconds = checkedTolerance(options.toleranceSeconds);
  const clock: Clock = {
    toleranceSeconds,
    nowSeconds: Math.floor((options.now ?? Date.now)() / 1000),
    acceptOld: options.acceptOldTimestamps === true,
  };

  switch (scheme) {
    case 'ramp':
      verifyRamp(request, secrets);
      return {};
    case 'standard-webhooks':
      return { signedAt: verifyStandardWebhooks(request, secrets, clock) };
    case 'generic':
      return { signedAt: verifyGeneric(request, secrets, clock) };
  }
}

/** How a signed timestamp is judged. */
interface Clock {
  toleranceSeconds: number;
  nowSeconds: number;
  /** True: an old timestamp is not refused (VerifyOptions.acceptOldTimestamps). */
  acceptOld: boolean;
}

/** The headers a sender attaches to `rawBody` (for tests, the demo script and benchmarks). */
export function signPayload(
  scheme: SignatureScheme,
  rawBody: Buffer,
  secret: string,
  options: SignOptions = {},
): Record<string, string> {
  const timestamp = String(options.timestamp ?? Math.floor(Date.now() / 1000));
  switch (scheme) {
    case 'none':
      return {};
    case 'ramp':
      return { [RAMP_SIGNATURE_HEADER]: hmacSha256(Buffer.from(secret, 'utf8'), rawBody).toString('hex') };
    case 'standard-webhooks': {
      const id = options.id ?? `msg_${randomUUID()}`;
      const signature = hmacSha256(standardWebhooksKey(secret, 1), standardWebhooksContent(id, timestamp, rawBody));
      return {
        [STANDARD_WEBHOOK_ID_HEADER]: id,
        [STANDARD_WEBHOOK_TIMESTAMP_HEADER]: timestamp,
        [STANDARD_WEBHOOK_SIGNATURE_HEADER]: `v1,${signature.toString('base64')}`,
      };
    }
    case 'generic': {
      const signature = hmacSha256(Buffer.from(secret, 'utf8'), genericContent(timestamp, rawBody));
      return {
        [GENERIC_TIMESTAMP_HEADER]: timestamp,
        [GENERIC_SIGNATURE_HEADER]: `${GENERIC_PREFIX}${signature.toString('hex')}`,
      };
    }
    default:
      throw unknownScheme(scheme);
  }
}

// ---- schemes -------------------------------------------------------------------------------------

/**
 * Ramp: hex HMAC-SHA256 of the body. Ramp signs no timestamp, so a captured request could be replayed
 * verbatim; that replay carries the same event id and is stopped by the intake's de-duplication on
 * source + id, not here, and once the de-duplication has forgotten it, by the intake's refusal of events
 * older than its memory (refuseBeyondDuplicateMemory in lib/intake/intake.ts).
 */
function verifyRamp(request: SignedRequest, secrets: readonly string[]): void {
  const given = singleHeader('ramp', request.headers, RAMP_SIGNATURE_HEADER);
  if (!HEX_SHA256.test(given)) {
    throw rejected(
      'ramp',
      'malformed_header',
      `the ${RAMP_SIGNATURE_HEADER} header is malformed: expected 64 hexadecimal characters (the HMAC-SHA256 of the body)`,
      RAMP_SIGNATURE_HEADER,
    );
  }
  const expected = secrets.map((secret) => hmacSha256(Buffer.from(secret, 'utf8'), request.rawBody));
  if (!anyMatches(expected, [Buffer.from(given, 'hex')])) throw noMatch('ramp');
}

/**
 * Standard Webhooks (Brex, Svix): `v1,<base64>` signatures over "<id>.<timestamp>.<body>". Returns the signed
 * timestamp.
 */
function verifyStandardWebhooks(request: SignedRequest, secrets: readonly string[], clock: Clock): number {
  const scheme = 'standard-webhooks';
  const id = singleHeader(scheme, request.headers, STANDARD_WEBHOOK_ID_HEADER);
  const timestamp = singleHeader(scheme, request.headers, STANDARD_WEBHOOK_TIMESTAMP_HEADER);
  const signatureValues = headerValues(request.headers, STANDARD_WEBHOOK_SIGNATURE_HEADER);
  if (signatureValues.length === 0) throw missingHeader(scheme, STANDARD_WEBHOOK_SIGNATURE_HEADER);

  const signedAt = checkTimestamp(scheme, STANDARD_WEBHOOK_TIMESTAMP_HEADER, timestamp, clock);

  // Several signatures are normal during a secret rotation; versions other than v1 (v1a is an asymmetric
  // Ed25519 signature) are skipped, as the Standard Webhooks libraries do.
  const given = signatureEntries(signatureValues)
    .filter((entry) => entry.startsWith('v1,'))
    .map((entry) => entry.slice(3))
    .filter((encoded) => encoded.length > 0 && BASE64.test(encoded))
    .map((encoded) => Buffer.from(encoded, 'base64'));
  if (given.length === 0) {
    throw rejected(
      scheme,
      'malformed_header',
      `the ${STANDARD_WEBHOOK_SIGNATURE_HEADER} header is malformed: it holds no "v1,<base64>" signature`,
      STANDARD_WEBHOOK_SIGNATURE_HEADER,
    );
  }
  const content = standardWebhooksContent(id, timestamp, request.rawBody);
  const expected = secrets.map((secret, index) => hmacSha256(standardWebhooksKey(secret, index + 1), content));
  if (!anyMatches(expected, given)) throw noMatch(scheme);
  return signedAt;
}

/**
 * The entries of the signature header values, "v1,<base64>" each. Entries are separated by spaces; a header
 * sent several times arrives joined by ", " (Node's HTTP server does that, and so may a proxy), which leaves a
 * comma after an entry or between two: a comma right before a version tag ("v1,", "v1a,") separates entries, and
 * a trailing comma is dropped, as the Svix libraries read it. Base64 has no comma, so no signature is cut.
 */
function signatureEntries(values: readonly string[]): string[] {
  return values
    .join(' ')
    .split(/\s+|,(?=v\d+[a-z]?,)/)
    .map((entry) => entry.replace(/,+$/, ''))
    .filter((entry) => entry !== '');
}

/** The pack's own scheme: "sha256=<hex>" over "<timestamp>.<body>", so a replay goes stale. Returns the timestamp. */
function verifyGeneric(request: SignedRequest, secrets: readonly string[], clock: Clock): number {
  const scheme = 'generic';
  const timestamp = singleHeader(scheme, request.headers, GENERIC_TIMESTAMP_HEADER);
  const signature = singleHeader(scheme, request.headers, GENERIC_SIGNATURE_HEADER);
  const signedAt = checkTimestamp(scheme, GENERIC_TIMESTAMP_HEADER, timestamp, clock);

  const hex = signature.startsWith(GENERIC_PREFIX) ? signature.slice(GENERIC_PREFIX.length) : '';
  if (!HEX_SHA256.test(hex)) {
    throw rejected(
      scheme,
      'malformed_header',
      `the ${GENERIC_SIGNATURE_HEADER} header is malformed: expected "sha256=" followed by 64 hexadecimal characters`,
      GENERIC_SIGNATURE_HEADER,
    );
  }
  const content = genericContent(timestamp, request.rawBody);
  const expected = secrets.map((secret) => hmacSha256(Buffer.from(secret, 'utf8'), content));
  if (!anyMatches(expected, [Buffer.from(hex, 'hex')])) throw noMatch(scheme);
  return signedAt;
}

// ---- building blocks -----------------------------------------------------------------------------

function hmacSha256(key: Buffer, content: Buffer): Buffer {
  return createHmac('sha256', key).update(content).digest();
}

function standardWebhooksContent(id: string, timestamp: string, rawBody: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${id}.${timestamp}.`, 'utf8'), rawBody]);
}

function genericContent(timestamp: string, rawBody: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${timestamp}.`, 'utf8'), rawBody]);
}

/** Standard Webhooks secrets are base64, optionally prefixed "whsec_"; the HMAC key is the decoded bytes. */
function standardWebhooksKey(secret: string, position: number): Buffer {
  const encoded = secret.startsWith(SVIX_SECRET_PREFIX) ? secret.slice(SVIX_SECRET_PREFIX.length) : secret;
  if (encoded.length === 0 || !BASE64.test(encoded)) {
    throw new FinanceError(
      'CONFIG_INVALID',
      `Webhook secret #${position} is not valid for the standard-webhooks scheme: it must be base64, optionally ` +
        'prefixed "whsec_", exactly as Brex or Svix show it. Copy it again from the sender.',
    );
  }
  return Buffer.from(encoded, 'base64');
}

/**
 * True when any given signature equals any expected one. Every pair is compared (no early exit), each
 * comparison in constant time; a length difference is answered after the same amount of work, although an
 * HMAC's length is public anyway.
 */
function anyMatches(expected: readonly Buffer[], given: readonly Buffer[]): boolean {
  let matched = false;
  for (const want of expected) {
    for (const have of given) {
      const equal = have.length === want.length ? timingSafeEqual(want, have) : !timingSafeEqual(want, want);
      matched = equal || matched;
    }
  }
  return matched;
}

/** The timestamp in unix seconds, once its form and its distance from this host's clock are acceptable. */
function checkTimestamp(scheme: SignatureScheme, header: string, value: string, clock: Clock): number {
  const { toleranceSeconds, nowSeconds } = clock;
  if (!UNIX_SECONDS.test(value)) {
    throw rejected(
      scheme,
      'malformed_header',
      `the ${header} header is malformed: expected whole unix seconds`,
      header,
    );
  }
  const age = nowSeconds - Number(value);
  if (age > toleranceSeconds && !clock.acceptOld) {
    throw rejected(
      scheme,
      'stale_timestamp',
      `the ${header} is ${age} s old, ${age - toleranceSeconds} s beyond the ${toleranceSeconds} s tolerance. ` +
        "A replayed request looks like this; otherwise check the sender's clock",
      header,
      { skewSeconds: -age },
    );
  }
  if (-age > toleranceSeconds) {
    throw rejected(
      scheme,
      'future_timestamp',
      `the ${header} is ${-age} s in the future, ${-age - toleranceSeconds} s beyond the ${toleranceSeconds} s ` +
        'tolerance. Check the clocks of the sender and of this host (NTP)',
      header,
      { skewSeconds: -age },
    );
  }
  return Number(value);
}

function singleHeader(scheme: SignatureScheme, headers: HeaderMap, name: string): string {
  const values = headerValues(headers, name);
  if (values.length === 0) throw missingHeader(scheme, name);
  if (values.length > 1) {
    throw rejected(
      scheme,
      'malformed_header',
      `the ${name} header was sent ${values.length} times; it must be sent once`,
      name,
    );
  }
  return values[0];
}

function checkedSecrets(scheme: SignatureScheme, secrets: readonly string[] | undefined): string[] {
  const usable = Array.isArray(secrets) ? secrets.filter((secret) => typeof secret === 'string' && secret !== '') : [];
  if (usable.length === 0) {
    throw new FinanceError(
      'CONFIG_INVALID',
      `No webhook secret is configured for the "${scheme}" signature scheme. Enter the sender's signing secret ` +
        'in the source configuration, or choose the scheme "none" only for a trusted upstream.',
    );
  }
  return usable;
}

function checkedTolerance(toleranceSeconds: number | undefined): number {
  const tolerance = toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  if (!Number.isFinite(tolerance) || tolerance <= 0) {
    throw new FinanceError(
      'CONFIG_INVALID',
      `The signature timestamp tolerance must be a positive number of seconds, not ${String(toleranceSeconds)}.`,
    );
  }
  return tolerance;
}

function unknownScheme(scheme: unknown): FinanceError {
  return new FinanceError(
    'CONFIG_INVALID',
    `Unknown signature scheme "${String(scheme)}". Choose one of: ${SIGNATURE_SCHEMES.join(', ')}.`,
  );
}

function missingHeader(scheme: SignatureScheme, name: string): FinanceError {
  return rejected(
    scheme,
    'missing_header',
    `the ${name} header is missing. Check that the sender signs its requests and that the source uses the right signature scheme`,
    name,
  );
}

function noMatch(scheme: SignatureScheme): FinanceError {
  return rejected(
    scheme,
    'no_match',
    'no signature matched any configured secret. Check that the secret is the one the sender uses (during a ' +
      'rotation configure both) and that nothing between sender and Node-RED rewrites the body',
  );
}

function rejected(
  scheme: SignatureScheme,
  reason: FailureReason,
  problem: string,
  header?: string,
  extra: Record<string, unknown> = {},
): FinanceError {
  return new FinanceError('SIGNATURE_INVALID', `Webhook signature rejected (${scheme}): ${problem}.`, {
    details: { scheme, reason, ...(header === undefined ? {} : { header }), ...extra },
  });
}
