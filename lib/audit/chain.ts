/**
 * The line format of the audit trail (JSON Lines) and its hash chain. Each record is one line:
 *
 *   {"seq":7,"at":"...","step":"finance-post:posted",...,"prev":"<sha256 of record 6>","hash":"<sha256>"}
 *
 * `hash` is the SHA-256 (hex) of the line's exact text without its `,"hash":"..."` ending (the "body", which
 * includes `prev`), so a verifier needs no canonical JSON: it hashes the bytes it reads. Changing a record
 * breaks its own hash; removing or moving one breaks the `prev` and `seq` of the record after it.
 */
import { createHash } from 'node:crypto';

/** The `prev` of the first record of a trail. */
export const GENESIS_HASH = '0'.repeat(64);

const HASH_ENDING = /,"hash":"([0-9a-f]{64})"\}$/;

export interface ChainPosition {
  /** seq of the last record written; 0 for an empty trail. */
  seq: number;
  /** hash of the last record written; GENESIS_HASH for an empty trail. */
  hash: string;
}

export interface ChainedLine {
  line: string;
  seq: number;
  hash: string;
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/**
 * The line of the record after `position`. `fields` must be plain JSON (already redacted) without the
 * members seq, prev and hash, which the chain sets.
 */
export function chainLine(position: ChainPosition, fields: Record<string, unknown>): ChainedLine {
  const seq = position.seq + 1;
  const body = JSON.stringify({ seq, ...fields, prev: position.hash });
  const hash = sha256Hex(body);
  return { line: `${body.slice(0, -1)},"hash":"${hash}"}`, seq, hash };
}

export type LineCheck =
  { ok: true; seq: number; hash: string; prev: string } | { ok: false; reason: string; seq?: number };

/** Checks one line on its own: parseable, with seq, prev and a hash that matches its text. */
export function checkLine(line: string): LineCheck {
  let record: { seq?: unknown; prev?: unknown; hash?: unknown };
  try {
    record = JSON.parse(line) as typeof record;
  } catch {
    return { ok: false, reason: 'is not a JSON record (edited or cut short)' };
  }
  const seq = typeof record.seq === 'number' && Number.isSafeInteger(record.seq) ? record.seq : undefined;
  const ending = HASH_ENDING.exec(line);
  if (!ending || typeof record.prev !== 'string' || seq === undefined) {
    return { ok: false, reason: 'lacks its seq, prev or hash (edited)', seq };
  }
  const body = line.slice(0, ending.index) + '}';
  if (sha256Hex(body) !== ending[1]) {
    return { ok: false, reason: 'was edited: its content does not match its hash', seq };
  }
  return { ok: true, seq, hash: ending[1], prev: record.prev };
}

/** Whether a line is whole JSON: a last line without its line end that is one was not cut short by a crash. */
export function isWholeJson(line: string): boolean {
  try {
    JSON.parse(line);
    return true;
  } catch {
    return false;
  }
}
