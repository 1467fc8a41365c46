/**
 * One write-back, idempotently: the outcome read from the message is sent to the target through the ledger
 * protocol (lib/posting/idempotent-write.ts), keyed per document, target and status, so a repeated message
 * sends nothing and a retry after a failure sends the same request (same Idempotency-Key) again. There is no
 * lookup: every target is safe to repeat (an idempotent POST, a merge patch, a de-duplicated event).
 */
import type { FinanceError } from '../errors';
import { documentLedgerKey, type LedgerWriter } from '../posting/idempotent-write';
import type { LatestVersionGuard } from './latest-version';
import { writebackDocument, writebackOutcome, type WritebackMessage } from './outcome';
import type { WritebackTarget, WritebackTargetName } from './target';

/** msg.writeback. */
export interface WritebackRecord {
  target: WritebackTargetName;
  /** The status written back: posted, or the approval state. */
  status: string;
  /** When it was written back (ISO date-time); for a repeated message, when it was written the first time. */
  at: string;
  /** False when the target had no field for this outcome and nothing was sent. */
  sent: boolean;
  /** True when a newer version of the document was written back already, so this one was not sent. */
  superseded?: boolean;
}

export interface WritebackInput {
  message: WritebackMessage;
  /** Used when the message has no msg.finance.correlationId. */
  correlationId: string;
  /** The document owner's user id in the source (Concur). */
  userId?: string;
  now: Date;
}

export type WritebackResult =
  | { outcome: 'done'; writeback: WritebackRecord; duplicate: boolean }
  | { outcome: 'refused'; status: string; error: FinanceError };

/**
 * With `latest`, a versioned document's write-backs are kept in version order: an older version than the
 * last one written back is answered done, `superseded`, and not sent. While another host or node writes back
 * the same document, this one rejects with a retryable ERP_CONFLICT and sends nothing (latest-version.ts).
 */
export async function performWriteback(
  writer: LedgerWriter,
  target: WritebackTarget,
  input: WritebackInput,
  latest?: LatestVersionGuard,
): Promise<WritebackResult> {
  const document = writebackDocument(input.message.payload);
  const outcome = writebackOutcome(input.message);
  const version = document.sourceRef.version;
  if (latest === undefined || version === undefined) return writeOnce(writer, target, input);
  const key = `${target.name}:${document.sourceRef.system}:${document.docType}:${document.sourceRef.id}`;
  const result = await latest.run(key, version, async () => {
    const written = await writeOnce(writer, target, input);
    return { value: written, written: written.outcome === 'done' };
  });
  if (result !== 'superseded') return result;
  const writeback = { target: target.name, status: outcome.status, at: input.now.toISOString(), sent: false };
  return { outcome: 'done', writeback: { ...writeback, superseded: true }, duplicate: false };
}

async function writeOnce(
  writer: LedgerWriter,
  target: WritebackTarget,
  input: WritebackInput,
): Promise<WritebackResult> {
  const document = writebackDocument(input.message.payload);
  const outcome = writebackOutcome(input.message);
  const correlationId = outcome.correlationId ?? input.correlationId;
  const at = input.now.toISOString();
  const result = await writer.write<WritebackRecord>({
    // The status is part of the operation: a report rejected, resubmitted under the same version and then
    // posted must be written back twice. So is the target: two write-back nodes may tell two systems.
    key: documentLedgerKey(document, `writeback-${target.name}-${outcome.status}`),
    correlationId,
    write: async (ctx) => {
      const delivery = await target.send({
        outcome,
        idempotencyKey: ctx.idempotencyKey ?? '',
        correlationId,
        at,
        docType: document.docType,
        ...(document.sourceRef.version === undefined ? {} : { version: document.sourceRef.version }),
        ...(input.userId === undefined ? {} : { userId: input.userId }),
      });
      return { target: target.name, status: outcome.status, at, sent: delivery === 'sent' };
    },
  });
  if (result.outcome === 'refused') return { outcome: 'refused', status: outcome.status, error: result.error };
  return { outcome: 'done', writeback: result.ref, duplicate: result.outcome === 'duplicate' };
}
