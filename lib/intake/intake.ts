/**
 * Intake (DESIGN section 7): verify the signature on the raw bytes -> parse -> validate -> de-duplicate on
 * source + id -> commit to the store -> answer. The answer is only "accepted" once the event is durably
 * committed, so a sender that got a 202 can forget the event. The same class serves the webhook, messages
 * from upstream nodes and the MQTT subscription; each transport turns the result into its own answer.
 *
 * `check` (everything before the store) and `commit` are separate so a transport that must retry the
 * commit (MQTT, while the store is full) does not verify a signature again whose timestamp is ageing.
 */
import { randomUUID } from 'node:crypto';
import { FinanceError, type ErrorCode } from '../errors';
import { parseJsonSafely } from '../model/safe-json';
import { summariseViolations, validateDocument } from '../model/validate';
import type { FinanceEnvelope } from '../model/types';
import { joinPointer, pointerCut, quoteCut, type Violation } from '../model/violations';
import { inboxKey, type FinanceStore, type InboxEntry } from '../reliability/store';
import { headerValues, type HeaderMap } from '../sources/headers';
import type { SourceProfile } from '../sources/profiles/profile';
import { verifySignature, type SignatureScheme } from '../sources/signatures';
import { CLOSING_REASON, httpStatusFor, problemFrom, retryAfterSecondsFor, type Problem } from './problem';

/** The header a sender may use to hand in its own correlation id, so its logs and ours share one id. */
export const CORRELATION_ID_HEADER = 'X-Correlation-Id';

/** Limits that keep the inbox key (source + id) well inside what the store accepts. */
const MAX_ID_BYTES = 256;
const MAX_SOURCE_BYTES = 512;
const MAX_CORRELATION_ID_LENGTH = 200;
const PRINTABLE_ASCII = /^[\x21-\x7e]+$/;
/** C0 and C1 control characters and DEL: CloudEvents forbids them in id and source (see checkIdentifier). */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f-\u009f]/;
/**
 * Unicode bidirectional controls (ALM, LRM, RLM, the embeddings and overrides U+202A-U+202E, the isolates
 * U+2066-U+2069): they reorder how the text around them is shown, so an identifier holding one displays as
 * another identifier in the audit trail, the logs and the editor ("Trojan Source", CVE-2021-42574).
 */
const BIDI_CONTROL = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

export interface IntakeOptions {
  /** The store, asked for on every commit: a store that could not be opened throws, which answers 503. */
  store: () => FinanceStore;
  /**
   * Leases each accepted event to `owner` (the intake node) for `ms` in the commit itself, so an event is
   * never without an owner, not even after a crash right after the commit; recovery re-emits it when the
   * lease runs out before the event's journey ended.
   */
  lease?: { owner: string; ms: number };
  /**
   * With a lease: bounds the events in flight (InboxRecovery). An event it does not admit is committed waiting
   * (a 0 ms lease: owned, not handed out) and emitted later by recovery, when a slot is free.
   */
  admission?: Admission;
  profile: SourceProfile;
  signatureScheme: SignatureScheme;
  /** Current and previous webhook secrets (two during a rotation). Never logged. */
  secrets: readonly string[];
  maxBytes: number;
  toleranceSeconds?: number;
  /** Current time in ms, for signature timestamps. */
  now?: () => number;
  /** A correlation id for events that bring none. */
  newCorrelationId?: () => string;
}

/** Decides per event whether it is emitted at once or waits in the store for a slot (see InboxRecovery). */
export interface Admission {
  /** True: a slot is reserved, the event is committed leased and emitted now; false: it is committed waiting. */
  admit(): boolean;
  /** After admit() said true: the event committed leased until `leaseUntil`, or (no key) the slot was not used. */
  admitted(key: string | undefined, leaseUntil?: number): void;
  /** An event was committed waiting. */
  waiting(): void;
}

export interface IncomingEvent {
  /** The body exactly as received. */
  rawBody: Buffer;
  headers: HeaderMap;
  /**
   * True for an event a broker kept for this intake (the MQTT subscription's persistent session holds messages
   * for days while the node is stopped): a signed timestamp then says when the sender signed, not when the event
   * arrives, so its age is not refused (the webhook's tolerance would refuse, and the broker then drop, every
   * event that waited longer than it). The signature is verified all the same, and replays are stopped as for
   * Ramp: by the de-duplication, and by refusing a timestamp older than the duplicate memory.
   */
  heldByBroker?: boolean;
}

/** An event that passed every check and may be committed. */
export interface CheckedEvent {
  key: string;
  envelope: FinanceEnvelope;
  /** The canonical document when the profile embeds one (CloudEvents), else the source's event body. */
  payload: unknown;
}

export interface IntakeAccepted {
  outcome: 'accepted';
  httpStatus: 202;
  /** Committed waiting for a slot: the transport must not emit it (recovery does, when its turn comes). */
  waiting?: boolean;
  key: string;
  envelope: FinanceEnvelope;
  payload: unknown;
}

export interface IntakeDuplicate {
  outcome: 'duplicate';
  httpStatus: 200;
  key: string;
  /** The envelope stored with the first delivery (its correlation id is the one that counts). */
  envelope: FinanceEnvelope;
  /** "accepted" while the first delivery is still being processed, else its final status. */
  firstOutcome: { status: string; at: number };
}

/** The sender must fix something; sending the same bytes again will be refused again. */
export interface IntakeRejected {
  outcome: 'rejected';
  httpStatus: number;
  problem: Problem;
  error: FinanceError;
}

/** Nothing was stored and the sender is not at fault: the event should be sent again later. */
export interface IntakeFailed {
  outcome: 'failed';
  httpStatus: number;
  problem: Problem;
  error: FinanceError;
  retryAfterSeconds?: number;
}

export type IntakeResult = IntakeAccepted | IntakeDuplicate | IntakeRejected | IntakeFailed;

/**
 * What taking over a published event gave (Intake.claim): `claimed` (this intake owns the entry now; emit it
 * unless it waits for a slot), `taken` (another consumer claimed it first, or it has its outcome: nothing to
 * do), `missing` (no such entry in this store: the publishing intake uses another store).
 */
export type ClaimResult =
  | { outcome: 'claimed'; waiting: boolean; entry: InboxEntry }
  | { outcome: 'taken'; entry: InboxEntry }
  | { outcome: 'missing'; key: string }
  | IntakeFailed;
export type CheckResult = { outcome: 'checked'; event: CheckedEvent } | IntakeRejected | IntakeFailed;

export class Intake {
  constructor(private readonly options: IntakeOptions) {}

  async receive(event: IncomingEvent): Promise<IntakeResult> {
    const checked = this.check(event);
    return checked.outcome === 'checked' ? this.commit(checked.event) : checked;
  }

  /** Everything up to the commit; a refusal is returned, never thrown. */
  check(event: IncomingEvent): CheckResult {
    try {
      return { outcome: 'checked', event: this.checked(event) };
    } catch (err) {
      return refusal(err);
    }
  }

  /** Commits the event unless its key is known; resolves only after the store synced the commit. */
  async commit(event: CheckedEvent): Promise<IntakeResult> {
    const { lease, admission } = this.options;
    const now = !lease || !admission || admission.admit();
    try {
      const result = await this.options.store().accept({
        ...event,
        ...(lease && { lease: now ? lease : { owner: lease.owner, ms: 0 } }),
      });
      if (lease && admission) {
        if (now && result.status === 'accepted') admission.admitted(event.key, result.entry.leaseUntil);
        else if (now) admission.admitted(undefined);
        else if (result.status === 'accepted') admission.waiting();
      }
      if (result.status === 'duplicate') {
        const first = result.entry;
        const difference = differenceFrom(first, event, this.options.profile);
        if (difference) return refusal(idReused(event.envelope, first, difference));
        return {
          outcome: 'duplicate',
          httpStatus: 200,
          key: event.key,
          envelope: first.envelope as unknown as FinanceEnvelope,
          firstOutcome: first.outcome
            ? { status: first.outcome.status, at: first.outcome.at }
            : { status: 'accepted', at: first.receivedAt },
        };
      }
      return { outcome: 'accepted', httpStatus: 202, waiting: !now, ...event };
    } catch (err) {
      if (now && lease && admission) admission.admitted(undefined);
      return refusal(err);
    }
  }

  /**
   * Takes over the inbox entry `key` that the intake node `fromNodeId` committed and published (scale-out): the
   * entry was checked and committed there, so nothing is checked again; this intake's lease replaces the
   * publisher's (FinanceStore.takeOverLease), so exactly one consumer gets it however often the broker delivers
   * it. Like commit(), it waits for a slot in the window (the entry is then taken over waiting).
   */
  async claim(key: string, fromNodeId: string): Promise<ClaimResult> {
    const { lease, admission } = this.options;
    if (!lease) throw new Error('Intake.claim needs a lease owner: only a leasing intake can take over events.');
    const now = !admission || admission.admit();
    try {
      const result = await this.options.store().takeOverLease(key, fromNodeId, lease.owner, now ? lease.ms : 0);
      if (admission) {
        if (now && result.leased) admission.admitted(key, result.entry.leaseUntil);
        else if (now) admission.admitted(undefined);
        else if (result.leased) admission.waiting();
      }
      if (result.leased) return { outcome: 'claimed', waiting: !now, entry: result.entry };
      return result.reason === 'missing' ? { outcome: 'missing', key } : { outcome: 'taken', entry: result.entry };
    } catch (err) {
      if (now && admission) admission.admitted(undefined);
      const failure = refusal(err);
      // A bad key is the publisher's mistake, but nothing the consumer can do about it either: report it as missing.
      return failure.outcome === 'failed' ? failure : { outcome: 'missing', key };
    }
  }

  private checked(event: IncomingEvent): CheckedEvent {
    const { profile, signatureScheme, secrets, maxBytes, toleranceSeconds, now } = this.options;
    // Before anything else: an HMAC over a huge body is work an attacker should not get for free.
    if (event.rawBody.length > maxBytes) {
      throw new FinanceError(
        'PAYLOAD_TOO_LARGE',
        `The body has ${event.rawBody.length} bytes; this endpoint accepts at most ${maxBytes}. Send one event per request.`,
        { details: { size: event.rawBody.length, maxBytes } },
      );
    }
    const heldByBroker = event.heldByBroker === true;
    const { signedAt } = verifySignature(
      signatureScheme,
      { headers: event.headers, rawBody: event.rawBody, secrets },
      { toleranceSeconds, now, acceptOldTimestamps: heldByBroker },
    );
    const body = parseJsonSafely(event.rawBody, { maxBytes });
    const facts = profile.envelopeOf(body, event.headers);
    checkIdentifier(facts.id, MAX_ID_BYTES, 'id');
    checkIdentifier(facts.source, MAX_SOURCE_BYTES, 'source');
    // The document id becomes the ERP's external document number and the write-back key.
    checkCharacters(facts.docId, 'docId');
    let payload: unknown = body;
    if (profile.embedsCanonical) {
      payload = profile.toCanonical(body);
      checkDocument(facts.docType, payload, profile.canonicalPointer ?? '');
    }
    if (!signsTimestamp(signatureScheme)) {
      refuseBeyondDuplicateMemory(
        { time: facts.time, what: 'created' },
        this.options.store().dedupRetentionMs,
        (now ?? Date.now)(),
      );
    } else if (heldByBroker && signedAt !== undefined) {
      // The age check verifySignature skipped, widened to what the duplicate memory covers.
      refuseBeyondDuplicateMemory(
        { time: new Date(signedAt * 1000).toISOString(), what: 'signed' },
        this.options.store().dedupRetentionMs,
        (now ?? Date.now)(),
      );
    }
    // Only the envelope's own fields: FinanceEnvelope's schema allows no others (documentUrl stays in the payload).
    const envelope: FinanceEnvelope = {
      id: facts.id,
      source: facts.source,
      type: facts.type,
      ...(facts.subject === undefined ? {} : { subject: facts.subject }),
      time: facts.time,
      correlationId:
        correlationIdOf(event.headers) ?? facts.correlationId ?? (this.options.newCorrelationId ?? randomUUID)(),
      docType: facts.docType,
      docId: facts.docId,
      ...(facts.version === undefined ? {} : { version: facts.version }),
      attempt: 1,
    };
    return { key: inboxKey(envelope.source, envelope.id), envelope, payload };
  }
}

/** Ramp signs the body only: its signature proves who sent an event, not when. */
function signsTimestamp(scheme: SignatureScheme): boolean {
  return scheme !== 'ramp';
}

/** Clock difference allowed between the sender and this host when judging an event's age. */
const SENDER_CLOCK_SKEW_MS = 60 * 60 * 1000;

/**
 * A signature without a timestamp is as valid on a captured request replayed a year later, and a replay is
 * stopped by the duplicate memory only while it remembers the event (from its arrival, which comes after its
 * creation, for `dedupRetentionMs`). So an event created longer ago than that is refused: it cannot be told
 * from a replay of one that was handled and forgotten. Senders deliver and retry within hours.
 *
 * The same holds for a signed timestamp whose age is not checked against the tolerance (an event a broker kept,
 * IncomingEvent.heldByBroker): it was signed before it first arrived, so while it is younger than the memory, a
 * replay of it is answered as a duplicate.
 */
function refuseBeyondDuplicateMemory(
  at: { time: string; what: 'created' | 'signed' },
  dedupRetentionMs: number,
  nowMs: number,
): void {
  const { time, what } = at;
  const ageMs = nowMs - Date.parse(time);
  if (ageMs <= dedupRetentionMs - SENDER_CLOCK_SKEW_MS) return;
  const days = (ms: number) => Math.round((ms / 86_400_000) * 10) / 10;
  const why =
    what === 'created'
      ? "this source's signature carries no time, so it cannot be told from a replay of an event already handled"
      : 'a signature this old cannot be told from a replay of an event already handled';
  throw new FinanceError(
    'SIGNATURE_INVALID',
    `The event was ${what} at ${time}, ${days(ageMs)} days ago; duplicates are remembered for ` +
      `${days(dedupRetentionMs)} days and ${why}. If it is genuine, post it by hand or raise the store's ` +
      "'Remember duplicates for (days)'.",
    { details: { reason: 'older_than_duplicate_memory', time, dedupRetentionMs } },
  );
}

/** The FinanceError behind any failure, as the result a transport answers with. */
export function refusal(err: unknown): IntakeRejected | IntakeFailed {
  const error =
    err instanceof FinanceError
      ? err
      : new FinanceError(
          'STORE_UNAVAILABLE',
          `The event could not be stored: ${err instanceof Error ? err.message : String(err)}. Send it again later.`,
          { retryable: true, cause: err },
        );
  const problem = problemFrom(error);
  const httpStatus = httpStatusFor(error.code);
  if (httpStatus < 500) return { outcome: 'rejected', httpStatus, problem, error };
  const retryAfterSeconds = retryAfterSecondsFor(error);
  return {
    outcome: 'failed',
    httpStatus,
    problem,
    error,
    ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
  };
}

/**
 * What says which event an id stands for. A redelivery of the same event may differ in delivery metadata (the
 * CloudEvents `time`, extension attributes such as `traceparent`, Concur's `timeStamp`, the correlation id), so
 * raw bodies are not compared.
 */
const MEANING_FIELDS = ['type', 'docType', 'docId', 'subject', 'version'] as const;

/** The first thing that differs between a stored event and a new one under the same key. */
type Difference =
  { field: (typeof MEANING_FIELDS)[number]; first: unknown; now: unknown } | { field: 'document'; path: string };

/**
 * How the event `event` differs from the stored one with its key, or undefined when it is the same event
 * delivered again. A sender that reuses an id for another event (a bug, a counter reset) would otherwise be told
 * "duplicate" and the new event would be lost. The embedded canonical document (CloudEvents) is compared as
 * parsed values, in any key order; other profiles only announce a document, so their envelope is all there is.
 */
function differenceFrom(first: InboxEntry, event: CheckedEvent, profile: SourceProfile): Difference | undefined {
  if (profile.derivesEventIds) return undefined;
  const envelope = event.envelope as unknown as Record<string, unknown>;
  for (const field of MEANING_FIELDS) {
    if (first.envelope[field] !== envelope[field]) {
      return { field, first: first.envelope[field], now: envelope[field] };
    }
  }
  if (!profile.embedsCanonical) return undefined;
  const path = firstDifference(first.payload, event.payload, profile.canonicalPointer ?? '');
  return path === undefined ? undefined : { field: 'document', path };
}

/**
 * The JSON pointer (under `at`) of the first place where two parsed JSON values differ, or undefined when they
 * are equal. Members compare by name, whatever their order; an undefined member counts as absent, as in JSON.
 */
function firstDifference(first: unknown, now: unknown, at: string): string | undefined {
  if (first === now) return undefined;
  if (!isContainer(first) || !isContainer(now) || Array.isArray(first) !== Array.isArray(now)) return at;
  if (Array.isArray(first)) {
    const other = now as unknown[];
    for (let index = 0; index < Math.max(first.length, other.length); index += 1) {
      const path = firstDifference(first[index], other[index], joinPointer(at, index));
      if (path !== undefined) return path;
    }
    return undefined;
  }
  for (const name of new Set([...Object.keys(first), ...Object.keys(now)])) {
    const path = firstDifference(ownMember(first, name), ownMember(now, name), joinPointer(at, name));
    if (path !== undefined) return path;
  }
  return undefined;
}

function isContainer(value: unknown): value is object {
  return typeof value === 'object' && value !== null;
}

/** A member of the value itself: a name such as "toString" present on one side must not find Object.prototype's. */
function ownMember(value: object, name: string): unknown {
  return Object.prototype.hasOwnProperty.call(value, name) ? (value as Record<string, unknown>)[name] : undefined;
}

function idReused(envelope: FinanceEnvelope, first: InboxEntry, difference: Difference): FinanceError {
  const receivedAt = new Date(first.receivedAt).toISOString();
  const differs =
    difference.field === 'document'
      ? `the document differs at ${pointerCut(difference.path) || 'its top level'}`
      : `its ${difference.field} was ${shown(difference.first)}, this event's is ${shown(difference.now)}`;
  return new FinanceError(
    'EVENT_ID_REUSED',
    `The event id ${quoteCut(envelope.id)} of source ${quoteCut(envelope.source)} was already used for another ` +
      `event, received at ${receivedAt}: ${differs}. That event and its outcome stay as they are and this one ` +
      'was not stored; send it with a new id.',
    {
      details: {
        field: difference.field,
        id: envelope.id,
        source: envelope.source,
        firstReceivedAt: receivedAt,
        ...(difference.field === 'document' && { path: difference.path }),
      },
    },
  );
}

function shown(value: unknown): string {
  if (value === undefined) return 'absent';
  return typeof value === 'string' ? quoteCut(value) : String(value);
}

/** How long a sender is asked to wait while the intake is being redeployed or stopped. */
export const CLOSING_RETRY_AFTER_MS = 5_000;

/**
 * The answer to an event that arrives while its intake is closing (a redeploy or a stop): nothing is stored and
 * the sender is asked to send it again shortly, when the new deploy listens.
 */
export function closingRefusal(): IntakeFailed {
  return refusal(
    new FinanceError(
      'STORE_UNAVAILABLE',
      'This intake is being redeployed or stopped, so the event was not stored; send it again after the Retry-After interval.',
      { retryable: true, retryAfterMs: CLOSING_RETRY_AFTER_MS, details: { reason: CLOSING_REASON } },
    ),
  ) as IntakeFailed;
}

/**
 * Schema validation of an embedded document. Its violations point into the document, which sits at `at` in
 * the event body ("/data" in a CloudEvent): they are moved there, because a refusal's fields are pointers into
 * the body the sender sent, like those of the envelope (problem.ts). When every violation is about money, the
 * refusal carries the money code (UNKNOWN_CURRENCY, INVALID_AMOUNT) so a sender can tell it from a structural
 * mistake.
 */
function checkDocument(docType: string, payload: unknown, at: string): void {
  const result = validateDocument(docType, payload);
  if (result.valid) return;
  const violations = at === '' ? result.errors : result.errors.map((violation) => underPointer(violation, at));
  throw new FinanceError(
    moneyCode(violations) ?? 'SCHEMA_INVALID',
    `${docType} is not valid: ${summariseViolations(violations)}`,
    { details: { docType, violations } },
  );
}

/** The violation with its path, and the pointer its message starts with, under `at`. */
function underPointer(violation: Violation, at: string): Violation {
  const { path, message } = violation;
  return { ...violation, path: at + path, message: message.startsWith('/') ? at + message : message };
}

/** The money rules (lib/model/semantic-checks.ts) that are about how an amount is written. */
const AMOUNT_RULES: ReadonlySet<string> = new Set(['precision', 'negative', 'canonical']);

function moneyCode(violations: readonly Violation[]): ErrorCode | undefined {
  if (violations.length === 0) return undefined;
  if (violations.every((violation) => violation.rule === 'currency')) return 'UNKNOWN_CURRENCY';
  if (violations.every((violation) => AMOUNT_RULES.has(violation.rule))) {
    return 'INVALID_AMOUNT';
  }
  return undefined;
}

/**
 * The inbox key joins source and id with a NUL (lib/reliability/store-keys.ts), so a control character in
 * either would let two different events share one key, and the second would be answered "duplicate" and never
 * stored. CloudEvents 1.0 forbids control characters in every string attribute; so does this intake, for every
 * profile and transport (webhook, own port, MQTT, input messages, polling all pass through check()).
 */
function checkIdentifier(value: string, maxBytes: number, attribute: 'id' | 'source'): void {
  checkCharacters(value, attribute);
  checkLength(value, maxBytes, `event ${attribute}`);
}

/** How an identifier is named in a refusal, by its envelope attribute. */
const IDENTIFIER_NAMES = { id: 'event id', source: 'event source', docId: 'document id' } as const;

/** Refuses control characters and bidirectional controls in an identifier. */
function checkCharacters(value: string, attribute: keyof typeof IDENTIFIER_NAMES): void {
  const control = CONTROL_CHARACTER.exec(value);
  if (control) {
    throw characterRefusal(
      attribute,
      control,
      'the control character',
      'control characters (U+0000-U+001F, U+007F-U+009F) are not allowed in ' +
        "an event's id, source or document id. Send the identifier without them.",
    );
  }
  // Unpaired surrogates never get this far: parseJsonSafely refuses them anywhere in the body.
  const bidi = BIDI_CONTROL.exec(value);
  if (bidi) {
    throw characterRefusal(
      attribute,
      bidi,
      'the bidirectional control character',
      'bidirectional controls (U+061C, U+200E, U+200F, U+202A-U+202E, U+2066-U+2069) are not allowed in ' +
        "an event's id, source or document id: they make one identifier display as another. Send the identifier " +
        'without them.',
    );
  }
}

function characterRefusal(
  attribute: keyof typeof IDENTIFIER_NAMES,
  found: RegExpExecArray,
  what: string,
  rule: string,
): FinanceError {
  const name = IDENTIFIER_NAMES[attribute];
  const codePoint = `U+${found[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;
  return new FinanceError(
    'SCHEMA_INVALID',
    `The ${name} contains ${what} ${codePoint} at position ${found.index}; ${rule}`,
    { details: { field: name, attribute, codePoint, position: found.index } },
  );
}

function checkLength(value: string, maxBytes: number, what: string): void {
  const bytes = Buffer.byteLength(value, 'utf8');
  if (bytes > maxBytes) {
    throw new FinanceError(
      'SCHEMA_INVALID',
      `The ${what} is ${bytes} bytes long; at most ${maxBytes} are accepted. Use a shorter identifier.`,
      { details: { field: what, bytes, maxBytes } },
    );
  }
}

function correlationIdOf(headers: HeaderMap): string | undefined {
  const values = headerValues(headers, CORRELATION_ID_HEADER);
  if (values.length === 0) return undefined;
  const value = values[0];
  if (values.length > 1 || value.length > MAX_CORRELATION_ID_LENGTH || !PRINTABLE_ASCII.test(value)) {
    throw new FinanceError(
      'SCHEMA_INVALID',
      `The ${CORRELATION_ID_HEADER} header must be sent once, with at most ${MAX_CORRELATION_ID_LENGTH} printable ` +
        'ASCII characters and no spaces (a UUID is ideal); or leave it out and one is assigned.',
      { details: { header: CORRELATION_ID_HEADER } },
    );
  }
  return value;
}
