/**
 * Verifies an audit trail (a directory of trail files, or one file) and names the first bad record: edited
 * (its hash does not match), deleted (a seq is missing), reordered (a seq comes later than it should) or
 * replaced (the chain's prev does not match). Lines are read one at a time, so a trail of any size fits.
 *
 * What a hash chain cannot show: records cut from the very end (the trail then just looks shorter). Compare
 * the `lastHash` reported here with one kept elsewhere to catch that.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkLine, GENESIS_HASH } from './chain';
import { listTrailFiles, readLines } from './files';

export interface BadRecord {
  file: string;
  /** 1-based line number in that file. */
  line: number;
  seq?: number;
  reason: string;
}

export interface VerifyResult {
  ok: boolean;
  files: number;
  records: number;
  /** seq and hash of the last good record. */
  lastSeq: number;
  lastHash: string;
  firstBad?: BadRecord;
}

export function verifyTrail(target: string): VerifyResult {
  const stat = fs.statSync(target);
  const files = stat.isDirectory() ? listTrailFiles(target).map((entry) => entry.file) : [target];
  // A single file other than the first of a trail starts mid-chain: its first record's prev is taken as given.
  const anchored = stat.isDirectory() || path.basename(target) === 'audit-000001.jsonl';
  let expectedSeq = 1;
  let prevHash: string | undefined = anchored ? GENESIS_HASH : undefined;
  let records = 0;
  for (const file of files) {
    let lineNo = 0;
    for (const line of readLines(file)) {
      lineNo += 1;
      if (line.length === 0) continue;
      const bad = (reason: string, seq?: number): VerifyResult => ({
        ok: false,
        files: files.length,
        records,
        lastSeq: expectedSeq - 1,
        lastHash: prevHash ?? GENESIS_HASH,
        firstBad: { file, line: lineNo, ...(seq === undefined ? {} : { seq }), reason },
      });
      const checked = checkLine(line);
      if (!checked.ok) return bad(`record ${checked.reason}`, checked.seq);
      if (prevHash === undefined) expectedSeq = checked.seq;
      if (checked.seq !== expectedSeq) {
        return bad(sequenceProblem(files, expectedSeq, checked.seq), checked.seq);
      }
      if (prevHash !== undefined && checked.prev !== prevHash) {
        return bad(
          `record does not follow record ${expectedSeq - 1}: its prev is not that record's hash (a record was replaced)`,
          checked.seq,
        );
      }
      prevHash = checked.hash;
      expectedSeq += 1;
      records += 1;
    }
  }
  return { ok: true, files: files.length, records, lastSeq: expectedSeq - 1, lastHash: prevHash ?? GENESIS_HASH };
}

/** Tells a deleted record from a reordered one: a reordered record's seq turns up later in the trail. */
function sequenceProblem(files: string[], expected: number, found: number): string {
  if (found < expected)
    return `record ${found} appears again or out of order where record ${expected} should be (reordered)`;
  for (const file of files) {
    for (const line of readLines(file)) {
      const checked = checkLine(line);
      if (checked.seq === expected) {
        return `record ${found} is out of order: record ${expected} should come first but appears later (reordered)`;
      }
    }
  }
  const missing = found - expected === 1 ? `record ${expected} is` : `records ${expected} to ${found - 1} are`;
  return `${missing} missing before record ${found} (deleted)`;
}
