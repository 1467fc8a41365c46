/**
 * What a dead letter holds, and how a failed message is read into one (DESIGN 7: the original message, the
 * error with its code, HTTP status and the ERP's body with secrets removed, attempts and timestamps).
 *
 * A failed message comes from a Catch node (`msg.error = {message, source: {id, type, name, count}, code?}`,
 * where `message` is the error's toString(), "FinanceError: ...") or from a node that puts a FinanceError, or
 * its toJSON(), in `msg.error` (`code`, `httpStatus`, `details.erpBody`). A Catch message never carries the
 * HTTP status or the ERP's body: Node-RED copies only `message`, `code`, `stack` and `cause` of an error. So
 * the pack's nodes also put the error's toJSON() in `msg.failure` when they report a failure
 * (nodes/shared/node-input.ts), and the HTTP status, the ERP's body and (before Node-RED 4.1) the code are
 * read from there, provided it describes the same failure as msg.error (see sameFailure).
 */
import { createHash } from 'node:crypto';
import { isRecord } from '../erp/records';
import { redactValue } from '../erp/redact';
import { FinanceError } from '../errors';
import { toRedactedDocumentJson, toRedactedJson } from './redact';

export const DEAD_LETTER_STATUSES = ['open', 'replayed', 'purged'] as const;
export type DeadLetterStatus = (typeof DEAD_LETTER_STATUSES)[number];

export interface DeadLetterError {
  /** The pack's error code (lib/errors.ts), or whatever code the failing node gave; absent when it gave none. */
  code?: string;
  message: string;
  httpStatus?: number;
  /** The ERP's answer, secrets removed and long texts cut short. */
  erpBody?: unknown;
  /** The node that failed (from the Catch message). */
  nodeId?: string;
  nodeType?: string;
  nodeName?: string;
}

export interface DeadLetter {
  id: string;
  /** ISO 8601 times. */
  createdAt: string;
  lastFailedAt: string;
  /** Attempts made so far: the message's own count (msg.finance.attempt) plus those of failed replays. */
  attempts: number;
  correlationId?: string;
  /** From msg.finance: the event's source system and the document it is about. */
  source?: string;
  docType?: string;
  docId?: string;
  error: DeadLetterError;
  /**
   * The message as it failed, as plain JSON with secrets, `req`/`res`, `error` and `_`-prefixed internals
   * removed. Dropped when the letter is purged.
   */
  original?: Record<string, unknown>;
  status: DeadLetterStatus;
  replayedAt?: string;
  purgedAt?: string;
  replayCount: number;
}

/** What a replayed message carries, so a failure after the replay goes back to the same letter. */
export interface ReplayMark {
  deadLetterId: string;
  replayCount: number;
}

export interface FailedMessage {
  error: DeadLetterError;
  original: Record<string, unknown>;
  attempt: number;
  correlationId?: string;
  source?: string;
  eventId?: string;
  docType?: string;
  docId?: string;
  /**
   * Identifies one delivery of one failure (msg._msgid, failing node, attempt, replay count), so the same
   * Catch message arriving twice makes one letter. Absent when the message has no _msgid.
   */
  naturalKey?: string;
  replay?: ReplayMark;
}

/**
 * Members of a message that are not kept: the error itself and its facts, HTTP plumbing and the marker of an
 * earlier replay.
 */
const NOT_KEPT = new Set(['error', 'failure', 'req', 'res', 'replay']);
/** "FinanceError: ..." -> "...": Catch messages carry the error's toString(). */
const ERROR_NAME_PREFIX = /^[A-Za-z]*Error: /;

/** Reads a failed message; SCHEMA_INVALID when it is not one (no msg.error). */
export function readFailedMessage(msg: unknown): FailedMessage {
  if (!isRecord(msg) || (!isRecord(msg.error) && typeof msg.error !== 'string')) {
    throw new FinanceError(
      'SCHEMA_INVALID',
      'A dead letter needs a failed message: wire a Catch node to the dead-letter node, or set msg.error to the error.',
    );
  }
  const envelope = isRecord(msg.finance) ? msg.finance : {};
  const error = readError(msg.error, isRecord(msg.failure) ? msg.failure : undefined);
  const attempt = positiveInteger(envelope.attempt) ?? 1;
  const replay = readReplayMark(msg.replay);
  const failed: FailedMessage = {
    error,
    original: keptMembers(msg),
    attempt,
    correlationId: text(envelope.correlationId),
    source: text(envelope.source),
    eventId: text(envelope.id),
    docType: text(envelope.docType),
    docId: text(envelope.docId),
    replay,
  };
  const msgId = text(msg._msgid);
  if (msgId !== undefined) {
    failed.naturalKey = createHash('sha256')
      .update(JSON.stringify([msgId, error.nodeId ?? '', attempt, replay?.replayCount ?? 0]))
      .digest('hex');
  }
  return failed;
}

function readError(raw: unknown, failure: Record<string, unknown> | undefined): DeadLetterError {
  const error: Record<string, unknown> = typeof raw === 'string' ? { message: raw } : (raw as Record<string, unknown>);
  const source = isRecord(error.source) ? error.source : {};
  const facts = failure !== undefined && sameFailure(error, failure) ? failure : {};
  const details = isRecord(error.details) ? error.details : isRecord(facts.details) ? facts.details : {};
  const erpBody = details.erpBody ?? error.erpBody;
  const read: DeadLetterError = { message: errorText(text(error.message) ?? 'The failing node gave no message.') };
  const code = text(error.code) ?? text(facts.code);
  if (code !== undefined) read.code = code;
  const httpStatus = positiveInteger(error.httpStatus) ?? positiveInteger(facts.httpStatus);
  if (httpStatus !== undefined) read.httpStatus = httpStatus;
  // Bodies are redacted by the ERP client already; this also covers errors that did not come from it.
  if (erpBody !== undefined && erpBody !== null) read.erpBody = toRedactedJson(redactValue(erpBody, []));
  const nodeId = text(source.id);
  if (nodeId !== undefined) read.nodeId = nodeId;
  const nodeType = text(source.type);
  if (nodeType !== undefined) read.nodeType = nodeType;
  const nodeName = text(source.name);
  if (nodeName !== undefined) read.nodeName = nodeName;
  return read;
}

/**
 * Whether msg.failure describes the error in msg.error, and not an earlier failure of the same message (one that
 * failed, was retried or replayed, and then failed at a node that sets no msg.failure): the texts match, and so
 * do the codes when the error has one (Node-RED before 4.1 drops it from a Catch message). finance-retry reads
 * msg.failure by the same test (flow-retry.ts).
 */
export function sameFailure(error: Record<string, unknown>, failure: Record<string, unknown>): boolean {
  const message = text(error.message);
  if (message === undefined || message.replace(ERROR_NAME_PREFIX, '') !== text(failure.message)) return false;
  const code = text(error.code);
  return code === undefined || code === text(failure.code);
}

/** The error text without the "FinanceError: " prefix, with credentials scrubbed and its length bounded. */
function errorText(message: string): string {
  return redactValue(message.replace(ERROR_NAME_PREFIX, ''), []) as string;
}

/**
 * The message members a replay needs, redacted. The business document (msg.payload) loses only what has the
 * shape of a credential, so the replay sends the ERP the texts the original did (toRedactedDocumentJson).
 */
function keptMembers(msg: Record<string, unknown>): Record<string, unknown> {
  const kept: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(msg)) {
    if (key.startsWith('_') || NOT_KEPT.has(key) || key === 'payload') continue;
    Object.defineProperty(kept, key, { value, enumerable: true, writable: true, configurable: true });
  }
  const redacted = toRedactedJson(kept) as Record<string, unknown>;
  if (msg.payload !== undefined) redacted.payload = toRedactedDocumentJson(msg.payload);
  return redacted;
}

function readReplayMark(raw: unknown): ReplayMark | undefined {
  if (!isRecord(raw)) return undefined;
  const deadLetterId = text(raw.deadLetterId);
  const replayCount = positiveInteger(raw.replayCount);
  return deadLetterId !== undefined && replayCount !== undefined ? { deadLetterId, replayCount } : undefined;
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function positiveInteger(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0 ? value : undefined;
}
