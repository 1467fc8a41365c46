/**
 * The record structures the LMDB store's inbox shares between its records (store layout 2).
 *
 * LMDB stores values as MessagePack (msgpackr), whose "records" write an object's key names once per message
 * and then only its values. Without shared structures every inbox record carries the key names of the
 * record, the event envelope and the canonical document: about 390 of its 900 bytes for an expense report.
 * With them an inbox entry takes 770 bytes of file instead of 1,400 (20,000 buffered events), and the file
 * pages the store touches count in the process's resident memory: in the bench's burst of 100,000 events the
 * store's pages fell from about 170 to 110 MB.
 *
 * The shapes below are known in advance: the record and the envelope are written by this pack, the payload of
 * a canonical event follows lib/model/types.ts. They are a fixed table, not structures learned at run time and
 * saved in the store (lmdb-js's sharedStructuresKey): a structure saved inside a write that is then rolled
 * back would leave later records pointing at a structure that was never stored, and those records could not
 * be read again. A fixed table has no state to lose. An object whose keys follow none of these shapes (an
 * event with other fields, fields in another order) is written as before, its key names inside the record.
 *
 * The table is part of the stored format: records written with it can only be read with the same table. Never
 * change or reorder an entry; add a new layout version instead (LAYOUT_VERSION in store-lmdb.ts). Records
 * written before the table existed (layout 1) hold their key names themselves and read with or without it.
 */

/**
 * Key sequences by structure id (0x40 + index), fixed for layout 2; see above. Exported for the test that pins it.
 */
export const INBOX_STRUCTURES: readonly (readonly string[])[] = [
  // StoredInboxRecord as accept(), lease, hold and outcome writes build it (store-lmdb.ts), in key order.
  ['envelope', 'payload', 'receivedAt', 'state', 'attempts'],
  ['envelope', 'payload', 'receivedAt', 'state', 'attempts', 'leaseOwner', 'leaseUntil'],
  ['envelope', 'payload', 'receivedAt', 'state', 'attempts', 'leaseOwner', 'leaseUntil', 'leaseMs'],
  ['envelope', 'payload', 'receivedAt', 'state', 'attempts', 'leaseMs', 'outcome', 'expiresAt'],
  ['envelope', 'payload', 'receivedAt', 'state', 'attempts', 'outcome', 'expiresAt'],
  // StoredValue (store-codec.ts) and the outcome.
  ['v'],
  ['j'],
  ['status', 'detail', 'at'],
  ['status', 'at'],
  // FinanceEnvelope as the intake builds it.
  ['id', 'source', 'type', 'subject', 'time', 'correlationId', 'docType', 'docId', 'version', 'attempt'],
  // The canonical expense report (lib/model/types.ts) and its parts.
  [
    'docType',
    'sourceRef',
    'reportId',
    'name',
    'businessPurpose',
    'employeeId',
    'submittedAt',
    'state',
    'total',
    'lines',
  ],
  ['system', 'id', 'version'],
  ['amount', 'currency'],
  ['lineId', 'date', 'expenseType', 'description', 'merchant', 'amount', 'dimensions', 'receiptAttached'],
  ['costCenter', 'glAccount'],
  // The write-back outcome detail (lib/writeback).
  ['writeback'],
  ['target', 'status', 'at', 'sent'],
];

/** A key sequence as msgpackr keeps it; `isShared` tells its reader to restore it after a record that redefines it. */
type Structure = string[] & { isShared?: boolean };

/**
 * The msgpackr options of the inbox database: a fresh copy of the table (msgpackr adds to the arrays it is
 * given), marked shared so that reading a layout 1 record, which defines its own structures under the same
 * ids, restores them afterwards; and no structure learned at run time is shared.
 */
export function inboxEncoderOptions(): {
  structures: Structure[];
  maxSharedStructures: number;
  shouldShareStructure: () => boolean;
} {
  const structures = INBOX_STRUCTURES.map((keys) => Object.assign([...keys] as Structure, { isShared: true }));
  return { structures, maxSharedStructures: structures.length, shouldShareStructure: () => false };
}
