/**
 * The size limit of one audit record. Records are read back whole (the writer reads the last one at every
 * start, a verifier holds one line at a time), so one huge note must not make the trail slow or unreadable.
 */

/** The largest line written for one record, in bytes. */
export const MAX_RECORD_BYTES = 64 * 1024;
/** Room left for seq, prev and hash, which the chain adds to a record's fields. */
const CHAIN_FIELDS_BYTES = 256;
/** The longest time or step kept when a record has to be cut down to them. */
const MAX_NAME_LENGTH = 200;

/**
 * `fields` as they are when they fit the limit. Otherwise the `details` (a flow's msg.audit) is replaced by a
 * note of its size; if the record is still too big, only its time, kind and step are kept, with such a note.
 */
export function limitRecordSize(fields: Record<string, unknown>): Record<string, unknown> {
  const bytes = jsonBytes(fields);
  if (fits(bytes)) return fields;
  if ('details' in fields) {
    const withoutDetails = { ...fields, details: cutNote('details', jsonBytes(fields.details)) };
    if (fits(jsonBytes(withoutDetails))) return withoutDetails;
  }
  return {
    at: shortText(fields.at),
    kind: shortText(fields.kind),
    step: shortText(fields.step),
    cut: cutNote('record', bytes),
  };
}

function cutNote(what: string, bytes: number): { cut: true; bytes: number; note: string } {
  return {
    cut: true,
    bytes,
    note: `${what} of ${bytes} bytes not written: an audit record is limited to ${MAX_RECORD_BYTES / 1024} KiB`,
  };
}

function fits(fieldBytes: number): boolean {
  return fieldBytes + CHAIN_FIELDS_BYTES <= MAX_RECORD_BYTES;
}

function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value) ?? '');
}

function shortText(value: unknown): string | undefined {
  return typeof value === 'string' ? value.slice(0, MAX_NAME_LENGTH) : undefined;
}
