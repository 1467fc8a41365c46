/**
 * Retrying any part of a flow (the `finance-retry` node): the checkpoints of the messages that pass, and
 * what a Catch node's message says about its failure.
 *
 * A message passing the node is checkpointed: a clean copy kept in the store under its message id for a
 * while (the TTL). When a Catch node reports that the message failed further on, the checkpoint is what is
 * sent again, not the copy the failed node had already changed, and it also counts the attempts of that
 * message across its re-emissions.
 */
import { parseRetryAfter } from '../erp/http-errors';
import { isRecord } from '../erp/records';
import { isRetryable, retryAfterMsOf } from './retry-policy';
import { sameFailure } from './dead-letter-record';
import type { FinanceStore } from './store';

export interface Checkpoint {
  /** The message as it passed the node (without req/res). */
  msg: Record<string, unknown>;
  /** The number of the attempt the message is on (1 = as it first passed). */
  attempt: number;
  /** Waits on a 429 it has had that used no attempt (retry-policy.ts decideRetry); 0 when absent. */
  throttledWaits?: number;
  /** True while a retry of this attempt's failure is parked (a second report of it is ignored). */
  parked: boolean;
  /** The failure that caused the current retry, as the Catch node reported it. */
  lastError?: unknown;
}

export interface CaughtFailure {
  /** `msg.error` of the Catch message (message, source, code), as it came. */
  error: unknown;
  retryable: boolean;
  /** A wait the failure asked for: `msg.error.retryAfterMs`, or the Retry-After header of an HTTP answer. */
  retryAfterMs?: number;
  /** `msg.error.code` when there is one (the pack's codes, e.g. ERP_RATE_LIMITED). */
  code?: string;
  /** The HTTP status of the failed answer: `msg.error.httpStatus` / `statusCode`, else `msg.statusCode`. */
  httpStatus?: number;
  /** `sent: false` when the pack's failure says its call never went out: the retry then uses no attempt. */
  details?: { sent: false };
}

/**
 * The checkpoint key of a message: its `_msgid`, plus the part index for messages split into parts (the
 * parts of a split share one `_msgid`). Undefined for a message without an id.
 */
export function checkpointKey(msg: { _msgid?: unknown; parts?: unknown }): string | undefined {
  if (typeof msg._msgid !== 'string' || msg._msgid === '') return undefined;
  const parts = msg.parts;
  if (isRecord(parts) && (typeof parts.id === 'string' || typeof parts.index === 'number')) {
    return `${msg._msgid}/${String(parts.id)}/${String(parts.index)}`;
  }
  return msg._msgid;
}

/**
 * Reads a Catch node's message. Node-RED's Catch message carries `error: {message, source, code?}` (the
 * code since Node-RED 4.1), nothing of a FinanceError's own facts. The pack's nodes put those in
 * `msg.failure` (nodes/shared/node-input.ts attachFailure), which is read when it describes this failure.
 * For any other failure, a failed HTTP answer further up may have left `statusCode` and `headers` (core http
 * request sets them) on the message. See isRetryable() for the verdict on each kind of failure.
 */
export function caughtFailure(
  msg: { error?: unknown; failure?: unknown; statusCode?: unknown; headers?: unknown },
  nowMs: number,
): CaughtFailure {
  const error = isRecord(msg.error) ? msg.error : { message: String(msg.error) };
  if (isRecord(msg.failure) && sameFailure(error, msg.failure)) return packFailure(msg.error, msg.failure);
  const facts = error.statusCode === undefined ? { ...error, statusCode: msg.statusCode } : error;
  const retryAfterMs = retryAfterMsOf(error) ?? parseRetryAfter(headerOf(msg.headers, 'retry-after'), nowMs);
  const status = [facts.httpStatus, facts.statusCode].map(Number).find((n) => Number.isInteger(n) && n >= 100);
  return {
    error: msg.error,
    retryable: isRetryable(facts),
    retryAfterMs,
    ...(typeof error.code === 'string' ? { code: error.code } : {}),
    ...(status === undefined ? {} : { httpStatus: status }),
  };
}

/**
 * The pack's own failure, read from the facts its node attached. Its verdict is the error's own
 * `retryable` (a TLS error or a 501 is ERP_UNAVAILABLE too, but permanent; a retryable ERP_CONFLICT or
 * ERP_AUTH_FAILED is not), and `details.sent` false means the call never went out. Leftover `statusCode` or
 * `headers` on the message belong to some earlier HTTP answer, not to this failure, so they are not read.
 */
function packFailure(error: unknown, facts: Record<string, unknown>): CaughtFailure {
  const status = facts.httpStatus;
  return {
    error,
    retryable: isRetryable(facts),
    retryAfterMs: retryAfterMsOf(facts),
    ...(typeof facts.code === 'string' ? { code: facts.code } : {}),
    ...(typeof status === 'number' && Number.isInteger(status) && status >= 100 ? { httpStatus: status } : {}),
    ...(isRecord(facts.details) && facts.details.sent === false ? { details: { sent: false } } : {}),
  };
}

/** The checkpoints of one node, in the store's kv namespace `namespace`, each kept `ttlMs` after its last change. */
export class MessageCheckpoints {
  readonly #store: FinanceStore;
  readonly #namespace: string;
  readonly #ttlMs: number;

  constructor(store: FinanceStore, namespace: string, ttlMs: number) {
    this.#store = store;
    this.#namespace = namespace;
    this.#ttlMs = ttlMs;
  }

  async get(key: string): Promise<Checkpoint | undefined> {
    return (await this.#store.kvGet(this.#namespace, key)) as Checkpoint | undefined;
  }

  /** Stores the checkpoint; `waitMs` lengthens its life by a wait ahead of it (a parked retry's delay). */
  async put(key: string, checkpoint: Checkpoint, waitMs = 0): Promise<void> {
    await this.#store.kvPut(this.#namespace, key, checkpoint, this.#ttlMs + waitMs);
  }

  async drop(key: string): Promise<void> {
    await this.#store.kvDelete(this.#namespace, key);
  }
}

function headerOf(headers: unknown, name: string): string | undefined {
  if (!isRecord(headers)) return undefined;
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() !== name) continue;
    if (typeof value === 'string') return value;
    if (typeof value === 'number') return String(value);
  }
  return undefined;
}
