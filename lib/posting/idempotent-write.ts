/**
 * The ledger protocol every ERP write goes through (DESIGN principle 3 and section 7), whatever it writes:
 * a posting, a purchase order, a status write-back. An event applied twice (retry, replay, duplicate
 * delivery, restart, second host sharing the store) changes the ERP once.
 *
 * One attempt:
 * 1. `ledgerBegin` on the write's ledger key.
 *    - `done`: an earlier attempt wrote it; answer its reference without calling the ERP (a prevented duplicate).
 *    - `started`: nobody tried before; this attempt owns the in-flight marker and writes.
 *    - `in-flight`: another attempt holds the marker. If that attempt is known to have ended (see "unsettled
 *      notes" below) or its marker is older than the takeover timeout (its host crashed or hung), take the
 *      marker over and LOOK THE DOCUMENT UP FIRST: the earlier attempt may have written. Otherwise that
 *      attempt is running right now: fail with a retryable ERP_CONFLICT and let the retry come back later.
 * 2. The write carries an Idempotency-Key derived from the ledger key, so an ERP that honours one (the
 *    sandbox does) also turns a repeated request into a replay of the first answer. Such an ERP also keeps a
 *    final 4xx answer under the key: a refusal would be answered again, unchanged, to every later attempt,
 *    even after someone fixed the ERP's master data and replayed the document. So a final 4xx answer retires
 *    the key: the attempt writes a new one for this write (kv namespace NEXT_KEY_NAMESPACE) before it removes
 *    its marker, and later attempts send that one. Until then every attempt sends the same key.
 * 3. The outcome decides what happens to the marker:
 *    - success: `ledgerDone(ref)`;
 *    - a refusal (the ERP answered 4xx and refused the document as it is): nothing was written, so the key is
 *      retired (see retiresKey), the marker removed (`ledgerAbort`) and the refusal reported as a business
 *      outcome, not thrown;
 *    - another answer that proves nothing was written (401, 403, 404, 429...): the key retired (not by a 409
 *      or 429, see retiresKey), the marker removed, the error thrown;
 *    - an error the dialect raised before its first writing request (details.written false: a document it
 *      checks and refuses itself, a read that failed): the marker removed, the key kept (nothing was sent under
 *      it), the error thrown. Only a dialect can say this: the client sees single requests, not the write;
 *    - anything else (timeout, reset, 5xx, an answer in an unexpected shape): the write MAY have happened.
 *      The marker stays, so the next attempt looks the document up before it writes.
 *
 * Unsettled notes. Leaving the marker alone would make the next attempt wait the whole takeover timeout
 * (minutes) although the attempt that holds it is over. So the failing attempt also writes a note "the
 * attempt <owner> ended without knowing whether it wrote; the ERP has settled from <settlesAt>" (kv namespace
 * UNSETTLED_NAMESPACE, keyed by the ledger key, expiring with the takeover timeout). A later attempt that finds
 * the marker held by exactly that owner takes it over once the ERP has settled and looks up first; before
 * that it fails with a retryable ERP_CONFLICT that sends nothing and says when to come back (retryAfterMs).
 * Owners are unique per attempt (prefix + random id), so a note can never vouch for a different, live attempt.
 * The store has no compare-and-swap on the marker, so the immediate takeover is checked afterwards: if the
 * marker it replaced was not the noted one (another attempt took over in between and is writing now), this
 * attempt does not write; the live attempt still finishes with ledgerDone (which does not check the owner),
 * and only a failure of that attempt falls back to the takeover timeout. Safety never depends on the note:
 * without it, only the timeout applies.
 *
 * Settling. A client that stops waiting (timeout, reset, a gateway's 502 or 504) does not stop the ERP: it may
 * commit the request it received seconds later. A lookup before then finds nothing and the write goes out
 * again: a second purchase order. So after such a failure the ERP gets as long again as the client waited
 * (the connection's timeout, which the node passes as settleAfterMs) before anybody looks the document up.
 * An answer of the ERP itself (a 500, a 503) and a request that never reached it (connection refused, circuit
 * open, closed before it was sent) need no wait (mayStillBeApplied).
 *
 * Attempts that are over. A marker whose attempt is known to be over (it ended in this process, or its process
 * crashed or was killed: lib/posting/attempt-liveness.ts) is taken over at once, like a noted one, and the same
 * after-check applies. So after a kill -9 the writes that were in flight resume within the heartbeat's lifetime
 * instead of the takeover timeout.
 *
 * The protocol never writes without a preceding lookup once anybody may have written before; it does write
 * without a lookup on `started`, when no attempt can have written (or the ledger forgot it after its
 * retention period, when the ERP's own uniqueness on the external reference is the last line of defence).
 */
import { createHash, randomUUID } from 'node:crypto';
import type { CallContext } from '../erp/dialect';
import { FinanceError, isFinanceError } from '../errors';
import { ledgerKey, type FinanceStore, type LedgerKeyParts, type LedgerTakeOverResult } from '../reliability/store';
import { attemptOwner, beginAttempt, endAttempt, isOver, settleAfterMs } from './attempt-liveness';

/**
 * How old an in-flight marker must be before another attempt may assume its owner is gone. It must exceed
 * the longest an attempt can take (queueing for a connection slot and the rate limit, plus a few calls of up
 * to the connection timeout each), or a slow attempt and its successor could both write.
 */
export const DEFAULT_TAKEOVER_AFTER_MS = 10 * 60 * 1000;

/** The store's kv namespace of notes about attempts that ended without knowing whether they wrote. */
export const UNSETTLED_NAMESPACE = 'ledger-unsettled';

/** The store's kv namespace of the Idempotency-Key a write sends after the ERP gave a final answer to the first. */
export const NEXT_KEY_NAMESPACE = 'ledger-next-key';

/**
 * How long a write's new key is kept: as long as the ledger keeps a done write by default. Should it expire
 * first, a later attempt sends the first key again, meets the ERP's old answer once, and gets a new key.
 */
const NEXT_KEY_TTL_MS = 30 * 24 * 60 * 60 * 1000;

export interface IdempotentWrite<R> {
  /** Identifies the write: `source:docType:docId:version:operation`. */
  key: LedgerKeyParts;
  correlationId: string;
  /** Performs the write; resolves with the reference to keep in the ledger (JSON-like data). */
  write(ctx: CallContext): Promise<R>;
  /**
   * Finds what an earlier attempt may have written (by external reference), or null. Without it the write
   * itself must be safe to repeat (a status update, a merge patch): a takeover then simply writes again.
   */
  lookup?(ctx: CallContext): Promise<R | null>;
}

export type IdempotentWriteResult<R> =
  /** This attempt wrote it. */
  | { outcome: 'written'; ref: R }
  /** An earlier attempt had written it; the lookup found it and the ledger now knows it. */
  | { outcome: 'found'; ref: R }
  /** The ledger already knew it: the ERP was not called (a prevented duplicate). */
  | { outcome: 'duplicate'; ref: R }
  /** The ERP refused the write as it is; nothing was written and the ledger holds no marker. */
  | { outcome: 'refused'; error: FinanceError };

export interface LedgerWriterOptions {
  /**
   * Names this writer's attempts in the ledger, e.g. the node id; each attempt adds the process and a unique
   * suffix (attempt-liveness.ts).
   */
  ownerPrefix: string;
  takeoverAfterMs?: number;
  /**
   * How long the ERP may go on applying a request after the client stopped waiting for it (see "Settling"
   * above). Default: settleAfterMs(), read at each failure.
   */
  settleAfterMs?: number;
  /** Source of the per-attempt suffix (tests inject a counter). */
  newAttemptId?: () => string;
  /** The clock of the settle times (ms since the epoch); tests inject the store's. */
  now?: () => number;
}

export interface LedgerWriterStats {
  written: number;
  found: number;
  duplicatesPrevented: number;
  refused: number;
}

interface UnsettledNote {
  owner: string;
  code?: string;
  /** From when (ms since the epoch) no request of the attempt can still be applied; older versions' notes lack it. */
  settlesAt?: number;
}

/** Transport failures that happen before a request is on its way: the ERP never saw it. */
const NOT_CONNECTED = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN']);
/** A gateway's answers that it stopped waiting for the ERP (Bad Gateway, Gateway Timeout). */
const GATEWAY_GAVE_UP = new Set([502, 504]);

export class LedgerWriter {
  readonly #store: FinanceStore;
  readonly #ownerPrefix: string;
  readonly #takeoverAfterMs: number;
  readonly #newAttemptId: () => string;
  readonly #settleAfterMs: number | undefined;
  readonly #now: () => number;
  readonly #stats: LedgerWriterStats = { written: 0, found: 0, duplicatesPrevented: 0, refused: 0 };

  constructor(store: FinanceStore, options: LedgerWriterOptions) {
    const takeoverAfterMs = options.takeoverAfterMs ?? DEFAULT_TAKEOVER_AFTER_MS;
    if (!Number.isInteger(takeoverAfterMs) || takeoverAfterMs <= 0) {
      throw new FinanceError('CONFIG_INVALID', 'The ledger takeover timeout must be a positive whole number of ms.');
    }
    this.#store = store;
    this.#ownerPrefix = options.ownerPrefix;
    this.#takeoverAfterMs = takeoverAfterMs;
    this.#newAttemptId = options.newAttemptId ?? randomUUID;
    this.#settleAfterMs = options.settleAfterMs;
    this.#now = options.now ?? Date.now;
  }

  stats(): LedgerWriterStats {
    return { ...this.#stats };
  }

  async write<R>(request: IdempotentWrite<R>): Promise<IdempotentWriteResult<R>> {
    const key = ledgerKey(request.key);
    const owner = attemptOwner(this.#ownerPrefix, this.#newAttemptId());
    await beginAttempt(this.#store, owner);
    try {
      return await this.#attempt(key, owner, request);
    } finally {
      endAttempt(this.#store, owner);
    }
  }

  async #attempt<R>(key: string, owner: string, request: IdempotentWrite<R>): Promise<IdempotentWriteResult<R>> {
    const claim = await this.#claim(key, owner);
    if (claim.state === 'done') {
      this.#stats.duplicatesPrevented += 1;
      return { outcome: 'duplicate', ref: claim.ref as R };
    }
    if (claim.state === 'in-flight') {
      throw new FinanceError(
        'ERP_CONFLICT',
        `Another attempt is writing ${key} to the ERP right now (since ${new Date(claim.since).toISOString()}); this one did not write. The call is retryable: retry in a moment and it will find the outcome.`,
        // sent: false: nothing went to the ERP, so a retry policy need not count this attempt (nodes/shared/retrying.ts).
        { retryable: true, details: { ledgerKey: key, owner: claim.owner, since: claim.since, sent: false } },
      );
    }
    const ctx: CallContext = { correlationId: request.correlationId, idempotencyKey: await this.#idempotencyKey(key) };
    return this.#writeOwned(key, owner, ctx, claim.state === 'taken-over', request);
  }

  /** The key derived from the ledger key, or the one that replaced it after a final answer (see above). */
  async #idempotencyKey(key: string): Promise<string> {
    const next = (await this.#store.kvGet(NEXT_KEY_NAMESPACE, key)) as { idempotencyKey?: unknown } | undefined;
    return typeof next?.idempotencyKey === 'string' ? next.idempotencyKey : idempotencyKeyFor(key);
  }

  /** Gets the in-flight marker for `owner`, or says why it cannot (done, or held by a live attempt). */
  async #claim(key: string, owner: string): Promise<LedgerTakeOverResult> {
    const begun = await this.#store.ledgerBegin(key, owner);
    if (begun.state !== 'in-flight') return begun;
    const note = (await this.#store.kvGet(UNSETTLED_NAMESPACE, key)) as UnsettledNote | undefined;
    if (note?.owner === begun.owner) this.#waitUntilSettled(key, note);
    const over = note?.owner === begun.owner || (await isOver(this.#store, begun.owner));
    if (!over) return this.#store.ledgerTakeOver(key, owner, this.#takeoverAfterMs);
    // The holder has ended without knowing whether it wrote: no need to wait for the takeover timeout.
    const taken = await this.#store.ledgerTakeOver(key, owner, 0);
    if (taken.state !== 'taken-over' || taken.previousOwner === begun.owner) return taken;
    // Another attempt took the ended holder's marker over first and may be writing now: do not write (see above).
    return { state: 'in-flight', owner: taken.previousOwner, since: taken.previousSince };
  }

  /** Throws a retryable ERP_CONFLICT while the noted attempt's last request may still be applied by the ERP. */
  #waitUntilSettled(key: string, note: UnsettledNote): void {
    const waitMs = (note.settlesAt ?? 0) - this.#now();
    if (waitMs <= 0) return;
    const settlesAt = new Date(note.settlesAt!).toISOString();
    throw new FinanceError(
      'ERP_CONFLICT',
      `An earlier attempt at ${key} ended without an answer${note.code ? ` (${note.code})` : ''}, and the system it wrote to may still be applying it, so this attempt writes (looking the document up first) only from ${settlesAt}; it sent nothing. The call is retryable and is retried then.`,
      { retryable: true, retryAfterMs: waitMs, details: { ledgerKey: key, owner: note.owner, settlesAt, sent: false } },
    );
  }

  async #writeOwned<R>(
    key: string,
    owner: string,
    ctx: CallContext,
    tookOver: boolean,
    request: IdempotentWrite<R>,
  ): Promise<IdempotentWriteResult<R>> {
    let found: R | null = null;
    if (tookOver && request.lookup) {
      try {
        found = await request.lookup(ctx);
      } catch (error) {
        return this.#lookupFailed(key, owner, error);
      }
    }
    if (found !== null) {
      await this.#store.ledgerDone(key, found);
      this.#stats.found += 1;
      return { outcome: 'found', ref: found };
    }
    let ref: R;
    try {
      ref = await request.write(ctx);
    } catch (error) {
      return this.#failed(key, owner, error);
    }
    // Outside the try: if recording fails after a successful write, the marker must stay (no abort, no note),
    // so the next attempt waits for the takeover and then finds the document by lookup.
    await this.#store.ledgerDone(key, ref);
    this.#stats.written += 1;
    return { outcome: 'written', ref };
  }

  async #failed<R>(key: string, owner: string, error: unknown): Promise<IdempotentWriteResult<R>> {
    if (provesNothingWritten(error)) {
      // Before the marker goes: an attempt that starts once it is gone must find the new key.
      if (retiresKey(error) && !stoppedBeforeWriting(error)) {
        const next = { idempotencyKey: idempotencyKeyFor(`${key}|${owner}`) };
        await this.#store.kvPut(NEXT_KEY_NAMESPACE, key, next, NEXT_KEY_TTL_MS);
      }
      await this.#store.ledgerAbort(key, owner);
      if (!isRefusal(error)) throw error;
      this.#stats.refused += 1;
      return { outcome: 'refused', error };
    }
    const settleMs = mayStillBeApplied(error) ? (this.#settleAfterMs ?? settleAfterMs()) : 0;
    await this.#noteUnsettled(key, owner, error, settleMs);
    throw error;
  }

  /**
   * The lookup of a taken-over marker failed: an earlier attempt may still have written, so the marker stays,
   * whatever the lookup's answer was (a 401 or 429 to the lookup proves nothing about the earlier write). This
   * attempt sent no write, so the next may look up at once.
   */
  async #lookupFailed(key: string, owner: string, error: unknown): Promise<never> {
    await this.#noteUnsettled(key, owner, error, 0);
    throw error;
  }

  async #noteUnsettled(key: string, owner: string, error: unknown, settleMs: number): Promise<void> {
    const note: UnsettledNote = {
      owner,
      ...(isFinanceError(error) ? { code: error.code } : {}),
      settlesAt: this.#now() + settleMs,
    };
    // Best effort: without the note the next attempt still looks up first, only after the takeover timeout.
    // The ERP's error is what the caller must see, not a store failure while writing the note.
    await this.#store.kvPut(UNSETTLED_NAMESPACE, key, note, this.#takeoverAfterMs).catch(() => undefined);
  }
}

/**
 * Whether the failed request may still be applied after the failure: it got no answer (a timeout, a reset: the
 * ERP may still be working on it) or a gateway's 502 or 504 (the gateway stopped waiting, the ERP may not have).
 * Not when the ERP answered itself (a 500, a 503, a 2xx whose body was cut off: it is done with the request,
 * whatever it did), nor when the request never reached it: the circuit was open, the connection was refused or
 * the host not found, or the client was closed before sending it (details.sent false). A write's calls run one
 * after another, so only its last call can be in flight. A failure of another kind is assumed in flight.
 */
export function mayStillBeApplied(error: unknown): boolean {
  if (!isFinanceError(error)) return true;
  if (error.code === 'CIRCUIT_OPEN') return false;
  const details = error.details as { sent?: unknown; transportCode?: unknown } | undefined;
  if (details?.sent === false) return false;
  if (typeof details?.transportCode === 'string' && NOT_CONNECTED.has(details.transportCode)) return false;
  return error.httpStatus === undefined || GATEWAY_GAVE_UP.has(error.httpStatus);
}

/**
 * The ERP looked at the request and refused the document as it is (400, 409, 422...): a business outcome
 * for the refused output. Authentication and "not found" answers are configuration problems, not refusals.
 */
export function isRefusal(error: unknown): error is FinanceError {
  return (
    isFinanceError(error) &&
    !error.retryable &&
    (error.code === 'ERP_REJECTED' || error.code === 'ERP_CONFLICT') &&
    isClientError(error.httpStatus)
  );
}

/**
 * True when the ERP's answer proves it did not apply the write: it answered, with a 4xx that is final, or
 * with 429 (throttled before doing anything). Retryable 4xx answers are not proof: 408 and 425 may come
 * from a proxy while the ERP works on, and "still processing your earlier request" means a write is running.
 * Errors without an answer (timeouts, resets, refused connections) and 5xx are never proof.
 */
export function provesNothingWritten(error: unknown): error is FinanceError {
  if (stoppedBeforeWriting(error)) return true;
  return isFinanceError(error) && isClientError(error.httpStatus) && (!error.retryable || error.httpStatus === 429);
}

/**
 * The dialect says its write stopped before the first request that could change the ERP (details.written
 * false): its own checks refused the document, or a read before the write failed. Only reads went out, so
 * whatever this error is (a SCHEMA_INVALID, a timeout of a GET), no write of this attempt can be in flight.
 */
export function stoppedBeforeWriting(error: unknown): error is FinanceError {
  return isFinanceError(error) && (error.details as { written?: unknown } | undefined)?.written === false;
}

/**
 * Whether an answer that proves nothing was written retires the write's Idempotency-Key. Not a 429: a rate
 * limit answers before the key is looked at. Not a 409: it may say that the key's first request is still
 * running, and a new key could then write the document a second time.
 */
function retiresKey(error: FinanceError): boolean {
  return error.httpStatus !== 409 && error.httpStatus !== 429;
}

/**
 * The Idempotency-Key of a write: a hash of its ledger key, so it is the same for every attempt of that
 * write, a valid header value whatever characters the document ids hold, and within the usual length limits.
 */
export function idempotencyKeyFor(key: string): string {
  return `fs1-${createHash('sha256').update(key).digest('base64url')}`;
}

function isClientError(status: number | undefined): boolean {
  return status !== undefined && status >= 400 && status < 500;
}

/**
 * The ledger key of a write about a canonical document, from the document's identity in its source:
 * the same for every attempt, replay and host, whichever envelope the message travels with.
 */
export function documentLedgerKey(
  document: { docType: string; sourceRef: { system: string; id: string; version?: number } },
  operation: string,
): LedgerKeyParts {
  return {
    source: document.sourceRef.system,
    docType: document.docType,
    docId: document.sourceRef.id,
    version: document.sourceRef.version ?? 0,
    operation,
  };
}
