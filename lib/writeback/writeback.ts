/**
 * One write-back, idempotently: the outcome read from the message is sent to the target through the ledger
 * protocol (lib/posting/idempotent-write.ts), keyed per document, destination and status, so a repeated message
 * sends nothing and a retry after a failure sends the same request (same Idempotency-Key) again. There is no
 * lookup: every target is safe to repeat (an idempotent POST, a merge patch, a de-duplicated event).
 *
 * The destination (settings.ts, writebackDestination: the source a write-back goes to and where in it, or the
 * MQTT broker and topic) is part of the ledger key and of the version guard's key as a short digest: two
 * write-back nodes telling two systems each tell theirs, and two nodes telling the same place share one
 * record. Write-backs recorded by an earlier version of the pack, under keys without it, are not looked at by
 * the ledger (those keys were shared between destinations, so one could stand for a system never told): a
 * write-back of such a document replayed after the upgrade is sent again, with another Idempotency-Key, rather
 * than lost. The version guard still reads the earlier record while the new key has none, so a parked older
 * version is not sent after a newer one written back before the upgrade.
 */
import { createHash } from 'node:crypto';
import type { FinanceError } from '../errors';
import { documentLedgerKey, type LedgerWriter } from '../posting/idempotent-write';
import type { LatestVersionGuard } from './latest-version';
import { writebackDocument, writebackOutcome, writebackRank, type WritebackMessage } from './outcome';
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
  /**
   * True when a newer version of the document, or a later status of the same version (a higher rank in its
   * lifecycle, outcome.ts WRITEBACK_STATUS_RANKS), was written back already, so this one was not sent.
   */
  superseded?: boolean;
}

export interface WritebackInput {
  message: WritebackMessage;
  /**
   * Names where the write-back goes (settings.ts, writebackDestination): part of the ledger and version keys, so
   * write-back nodes telling different systems never take one another's write-backs for their own.
   */
  destination: string;
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
 * With `latest`, a document's write-backs are kept in order: an older version than the last one written back,
 * or the same version (or a document without versions) with a status of a lower rank than the last one
 * written back (an `approved` retried after the `posted`), is answered done, `superseded`, and not sent. A
 * status without a rank is kept in version order only, and a document without a version and such a status is
 * written as it is. While another host or node writes back the same document, this one rejects with a
 * retryable ERP_CONFLICT and sends nothing (latest-version.ts).
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
  const rank = writebackRank(outcome.status);
  if (latest === undefined || (version === undefined && rank === undefined)) return writeOnce(writer, target, input);
  const documentKey = `${document.sourceRef.system}:${document.docType}:${document.sourceRef.id}`;
  const mark = {
    ...(version === undefined ? {} : { version }),
    ...(rank === undefined ? {} : { rank }),
    status: outcome.status,
  };
  const result = await latest.run(
    `${target.name}-${destinationDigest(input.destination)}:${documentKey}`,
    mark,
    async () => {
      const written = await writeOnce(writer, target, input);
      return { value: written, written: written.outcome === 'done' };
    },
    // Versions recorded before the destination was part of the key (only versioned documents had a record).
    version === undefined ? {} : { legacyKey: `${target.name}:${documentKey}` },
  );
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
    // posted must be written back twice. So is the destination: two write-back nodes of one target type (two
    // webhooks) may tell two systems, and each must tell its own.
    key: documentLedgerKey(
      document,
      `writeback-${target.name}-${destinationDigest(input.destination)}-${outcome.status}`,
    ),
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

/** The destination as a short digest for the store's keys (48 bits: a handful of destinations per store). */
export function destinationDigest(destination: string): string {
  return createHash('sha256').update(destination).digest('hex').slice(0, 12);
}
