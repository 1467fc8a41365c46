/**
 * Verifies an audit trail (a directory of trail files, or one file) and names the first bad record: edited
 * (its hash does not match), deleted (a seq is missing), reordered (a seq comes later than it should) or
 * replaced (the chain's prev does not match). Lines are read one at a time, so a trail of any size fits.
 *
 * A last line of the newest file without its newline is not a break: it is a write cut short by a crash, never
 * acknowledged, that the writer removes at its next start (recording `trail-repaired`). It is reported as
 * `incompleteLastRecord`, a warning, and the verification stays ok if everything before it verifies.
 *
 * What a hash chain cannot show: records cut from the very end (the trail then just looks shorter). Compare
 * the `lastHash` reported here with one kept elsewhere to catch that.
 *
 * verifyTrail reads synchronously (the CLI); verifyTrailAsync lets other work run between chunks (the node).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkLine, GENESIS_HASH, isWholeJson } from './chain';
import { listTrailFiles, readLines, readLinesAsync, type TrailLine } from './files';
import type { WrittenExtent } from './trail';

export interface BadRecord {
  file: string;
  /** 1-based line number in that file. */
  line: number;
  seq?: number;
  reason: string;
}

/** The newest file's last line, cut short (no newline): a warning, not a break of the chain. */
export interface IncompleteRecord {
  file: string;
  /** 1-based line number in that file. */
  line: number;
  bytes: number;
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
  incompleteLastRecord?: IncompleteRecord;
}

export interface VerifyOptions {
  /** Verify only this far (a writer's `writtenExtent()`), so a write under way is not read half done. */
  extent?: WrittenExtent;
}

export function verifyTrail(target: string, options: VerifyOptions = {}): VerifyResult {
  const plan = planOf(target, options);
  const walk = new ChainWalk(plan.files, plan.anchored);
  for (const file of plan.files) {
    walk.startFile(file);
    for (const line of readLines(file, { endByte: plan.endByte(file) })) {
      const step = walk.step(line);
      if (step.kind === 'done') return step.result;
      if (step.kind === 'gap') {
        const later = step.found > step.expected && seqAppears(plan, step.expected);
        return walk.bad(sequenceProblem(step, later), step.found);
      }
    }
  }
  return walk.result();
}

export async function verifyTrailAsync(target: string, options: VerifyOptions = {}): Promise<VerifyResult> {
  const plan = planOf(target, options);
  const walk = new ChainWalk(plan.files, plan.anchored);
  for (const file of plan.files) {
    walk.startFile(file);
    for await (const line of readLinesAsync(file, { endByte: plan.endByte(file) })) {
      const step = walk.step(line);
      if (step.kind === 'done') return step.result;
      if (step.kind === 'gap') {
        const later = step.found > step.expected && (await seqAppearsAsync(plan, step.expected));
        return walk.bad(sequenceProblem(step, later), step.found);
      }
    }
  }
  return walk.result();
}

/** The files to read, whether the first one starts the chain, and where each one ends. */
interface Plan {
  files: string[];
  anchored: boolean;
  endByte: (file: string) => number | undefined;
}

function planOf(target: string, options: VerifyOptions): Plan {
  const stat = fs.statSync(target);
  let files = stat.isDirectory() ? listTrailFiles(target).map((entry) => entry.file) : [target];
  const extent = options.extent;
  const last = extent ? files.indexOf(extent.file) : -1;
  if (last !== -1) files = files.slice(0, last + 1);
  return {
    files,
    // A single file other than the first of a trail starts mid-chain: its first record's prev is taken as given.
    anchored: stat.isDirectory() || path.basename(target) === 'audit-000001.jsonl',
    endByte: (file) => (extent && file === extent.file ? extent.bytes : undefined),
  };
}

interface SequenceGap {
  kind: 'gap';
  expected: number;
  found: number;
}

type Step = { kind: 'next' } | { kind: 'done'; result: VerifyResult } | SequenceGap;

/** Follows the chain line by line; the drivers above feed it lines, synchronously or not. */
class ChainWalk {
  readonly #files: string[];
  #expectedSeq = 1;
  #prevHash: string | undefined;
  #records = 0;
  #file = '';
  #lineNo = 0;

  constructor(files: string[], anchored: boolean) {
    this.#files = files;
    this.#prevHash = anchored ? GENESIS_HASH : undefined;
  }

  startFile(file: string): void {
    this.#file = file;
    this.#lineNo = 0;
  }

  step(line: TrailLine): Step {
    this.#lineNo += 1;
    if (line.text.length === 0) return { kind: 'next' };
    // A whole record without its line end is no write cut short (the line end alone was lost, or the line was
    // edited): it is checked like any other.
    if (!line.terminated && this.#file === this.#files.at(-1) && !isWholeJson(line.text)) {
      return { kind: 'done', result: this.#incomplete(line.text) };
    }
    const checked = checkLine(line.text);
    if (!checked.ok) return { kind: 'done', result: this.bad(`record ${checked.reason}`, checked.seq) };
    if (this.#prevHash === undefined) this.#expectedSeq = checked.seq;
    if (checked.seq !== this.#expectedSeq) return { kind: 'gap', expected: this.#expectedSeq, found: checked.seq };
    if (this.#prevHash !== undefined && checked.prev !== this.#prevHash) {
      const reason = `record does not follow record ${this.#expectedSeq - 1}: its prev is not that record's hash (a record was replaced)`;
      return { kind: 'done', result: this.bad(reason, checked.seq) };
    }
    this.#prevHash = checked.hash;
    this.#expectedSeq += 1;
    this.#records += 1;
    return { kind: 'next' };
  }

  result(): VerifyResult {
    return {
      ok: true,
      files: this.#files.length,
      records: this.#records,
      lastSeq: this.#expectedSeq - 1,
      lastHash: this.#prevHash ?? GENESIS_HASH,
    };
  }

  bad(reason: string, seq?: number): VerifyResult {
    const where = { file: this.#file, line: this.#lineNo };
    return { ...this.result(), ok: false, firstBad: { ...where, ...(seq === undefined ? {} : { seq }), reason } };
  }

  #incomplete(text: string): VerifyResult {
    const bytes = Buffer.byteLength(text);
    const reason = `the last record is incomplete (${bytes} bytes without a line end): a write cut short by a crash or a full disk, never acknowledged; the writer removes it at its next start and records "trail-repaired"`;
    return { ...this.result(), incompleteLastRecord: { file: this.#file, line: this.#lineNo, bytes, reason } };
  }
}

/** Tells a deleted record from a reordered one: a reordered record's seq turns up later in the trail. */
function sequenceProblem(gap: SequenceGap, appearsLater: boolean): string {
  const { expected, found } = gap;
  if (found < expected)
    return `record ${found} appears again or out of order where record ${expected} should be (reordered)`;
  if (appearsLater) {
    return `record ${found} is out of order: record ${expected} should come first but appears later (reordered)`;
  }
  const missing = found - expected === 1 ? `record ${expected} is` : `records ${expected} to ${found - 1} are`;
  return `${missing} missing before record ${found} (deleted)`;
}

function seqAppears(plan: Plan, seq: number): boolean {
  for (const file of plan.files) {
    for (const line of readLines(file, { endByte: plan.endByte(file) })) {
      if (checkLine(line.text).seq === seq) return true;
    }
  }
  return false;
}

async function seqAppearsAsync(plan: Plan, seq: number): Promise<boolean> {
  for (const file of plan.files) {
    for await (const line of readLinesAsync(file, { endByte: plan.endByte(file) })) {
      if (checkLine(line.text).seq === seq) return true;
    }
  }
  return false;
}
