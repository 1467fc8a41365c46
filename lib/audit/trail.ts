/**
 * The writer of an append-only, hash-chained audit trail (format: chain.ts; files: files.ts).
 *
 * - Appends are serialized: records waiting while a write runs go out together in the next write, each
 *   chained to the one before, then the file is synced before their promises resolve.
 * - Restarts continue the chain: opening reads the last record of the newest file for its seq and hash.
 *   A last line cut short by a crash (never acknowledged, since appends resolve after the sync) is removed and
 *   a `trail-repaired` record says how many bytes were dropped.
 * - Rotation by size: a record that would take the current file past `maxFileBytes` starts the next file.
 * - A bounded queue: when the disk falls behind by `maxPendingRecords`, new records are refused rather than
 *   held in memory until the process runs out of it; the gap is then written into the chain as one
 *   `records-dropped` record (how many, first and last time), so a reader of the trail sees it.
 * - One writer per directory in a process (openAuditTrail shares it); two processes must not share one.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FinanceError } from '../errors';
import { chainLine, checkLine, GENESIS_HASH, type ChainPosition } from './chain';
import { listTrailFiles, trailFileName } from './files';

export const DEFAULT_MAX_FILE_BYTES = 10 * 1024 * 1024;
/** About 50 MB of records at ~1 KB each: minutes of a busy host's records while its disk stalls. */
export const DEFAULT_MAX_PENDING_RECORDS = 50_000;

export interface AuditTrailOptions {
  dir: string;
  /** Rotate once a file would pass this size. Default 10 MiB. */
  maxFileBytes?: number;
  /** Sync each write to disk before the append resolves. Default true. */
  sync?: boolean;
  /** Records waiting for the disk beyond which appends are refused (and counted in the trail). Default 50,000. */
  maxPendingRecords?: number;
}

/** Records refused while the queue was full, written into the chain once there is room again. */
interface DroppedRecords {
  count: number;
  firstAt: string;
  lastAt: string;
}

interface Pending {
  fields: Record<string, unknown>;
  resolve: (position: ChainPosition) => void;
  reject: (error: Error) => void;
}

/** How many bytes at the end of the newest file are read to find its last record. */
const TAIL_BYTES = 1 << 20;

export class AuditTrail {
  readonly dir: string;
  readonly #maxFileBytes: number;
  readonly #sync: boolean;
  readonly #maxPending: number;
  #dropped: DroppedRecords | undefined;
  #position: ChainPosition = { seq: 0, hash: GENESIS_HASH };
  #fileIndex = 1;
  #fileBytes = 0;
  #fd: number | undefined;
  #pending: Pending[] = [];
  #writing: Promise<void> | undefined;
  #closed = false;
  #repairedBytes = 0;

  constructor(options: AuditTrailOptions) {
    this.dir = path.resolve(options.dir);
    this.#maxFileBytes = options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
    this.#sync = options.sync ?? true;
    this.#maxPending = options.maxPendingRecords ?? DEFAULT_MAX_PENDING_RECORDS;
    if (!Number.isInteger(this.#maxFileBytes) || this.#maxFileBytes < 1024) {
      throw new FinanceError('CONFIG_INVALID', 'The audit trail file size must be at least 1024 bytes.');
    }
    if (!Number.isInteger(this.#maxPending) || this.#maxPending < 1) {
      throw new FinanceError('CONFIG_INVALID', 'The audit queue limit must be a whole number of at least 1.');
    }
    this.#openNewest();
    if (this.#repairedBytes > 0) {
      void this.append({
        at: new Date().toISOString(),
        kind: 'trail',
        step: 'trail-repaired',
        droppedBytes: this.#repairedBytes,
      });
    }
  }

  /** seq and hash of the last record written. */
  get position(): ChainPosition {
    return { ...this.#position };
  }

  /** Appends one record (plain, redacted JSON fields); resolves with its seq and hash once it is on disk. */
  append(fields: Record<string, unknown>): Promise<ChainPosition> {
    if (this.#closed) {
      return Promise.reject(new FinanceError('STORE_UNAVAILABLE', `The audit trail in ${this.dir} is closed.`));
    }
    if (this.#pending.length >= this.#maxPending) {
      const at = new Date().toISOString();
      this.#dropped = { count: (this.#dropped?.count ?? 0) + 1, firstAt: this.#dropped?.firstAt ?? at, lastAt: at };
      return Promise.reject(
        new FinanceError(
          'STORE_UNAVAILABLE',
          `The audit trail in ${this.dir} is ${this.#maxPending} records behind; records are dropped and counted until the disk catches up. Check the disk's speed and free space.`,
        ),
      );
    }
    return new Promise((resolve, reject) => {
      this.#pending.push({ fields, resolve, reject });
      this.#writing ??= this.#drain();
    });
  }

  /** Resolves once every record appended so far is on disk (or failed), e.g. before a verification. */
  async idle(): Promise<void> {
    while (this.#writing) await this.#writing;
  }

  /** Waits for the records already appended, then closes the file. */
  async close(): Promise<void> {
    this.#closed = true;
    while (this.#writing) await this.#writing;
    if (this.#fd !== undefined) fs.closeSync(this.#fd);
    this.#fd = undefined;
  }

  async #drain(): Promise<void> {
    // Yield once so that records appended in the same tick share one write and one sync.
    await Promise.resolve();
    try {
      while (this.#pending.length > 0) {
        const batch = this.#pending;
        this.#pending = [];
        // Records are dropped only while the queue is full, so after every record of this batch was queued.
        if (this.#dropped) batch.push(this.#gapRecord(this.#dropped));
        this.#dropped = undefined;
        try {
          const positions = await this.#write(batch.map((entry) => entry.fields));
          batch.forEach((entry, index) => entry.resolve(positions[index]!));
        } catch (err) {
          const error = new FinanceError(
            'STORE_UNAVAILABLE',
            `The audit trail in ${this.dir} could not be written: ${(err as Error).message}`,
            { cause: err },
          );
          batch.forEach((entry) => entry.reject(error));
        }
      }
    } finally {
      this.#writing = undefined;
    }
  }

  /** The record that says how many records were dropped while the queue was full (no one waits for it). */
  #gapRecord(dropped: DroppedRecords): Pending {
    return {
      fields: { at: dropped.lastAt, kind: 'trail', step: 'records-dropped', ...dropped },
      resolve: () => undefined,
      reject: () => undefined,
    };
  }

  async #write(batch: Array<Record<string, unknown>>): Promise<ChainPosition[]> {
    const positions: ChainPosition[] = [];
    let chunk: string[] = [];
    let chunkBytes = 0;
    let position = this.#position;
    const flush = async () => {
      if (chunk.length === 0) return;
      await this.#writeToFile(chunk.join(''));
      this.#fileBytes += chunkBytes;
      // The chain moves on only as far as its records are on disk: a failed write leaves it there.
      this.#position = position;
      chunk = [];
      chunkBytes = 0;
    };
    for (const fields of batch) {
      const chained = chainLine(position, fields);
      const text = chained.line + '\n';
      const bytes = Buffer.byteLength(text);
      if (this.#fileBytes + chunkBytes > 0 && this.#fileBytes + chunkBytes + bytes > this.#maxFileBytes) {
        await flush();
        this.#rotate();
      }
      chunk.push(text);
      chunkBytes += bytes;
      position = { seq: chained.seq, hash: chained.hash };
      positions.push(position);
    }
    await flush();
    return positions;
  }

  async #writeToFile(text: string): Promise<void> {
    const fd = this.#fd!;
    await new Promise<void>((resolve, reject) =>
      fs.write(fd, text, null, 'utf8', (err) => (err ? reject(err) : resolve())),
    );
    if (this.#sync)
      await new Promise<void>((resolve, reject) => fs.fdatasync(fd, (err) => (err ? reject(err) : resolve())));
  }

  #rotate(): void {
    if (this.#fd !== undefined) fs.closeSync(this.#fd);
    this.#fileIndex += 1;
    this.#fd = fs.openSync(path.join(this.dir, trailFileName(this.#fileIndex)), 'a');
    this.#fileBytes = 0;
  }

  #openNewest(): void {
    fs.mkdirSync(this.dir, { recursive: true });
    const newest = listTrailFiles(this.dir).at(-1);
    this.#fileIndex = newest?.index ?? 1;
    const file = newest?.file ?? path.join(this.dir, trailFileName(this.#fileIndex));
    if (newest) this.#readPosition(newest.file);
    this.#fd = fs.openSync(file, 'a');
    this.#fileBytes = fs.fstatSync(this.#fd).size;
    // An empty newest file (rotated just before a stop) continues from the file before it.
    if (this.#fileBytes === 0 && newest) {
      const before = listTrailFiles(this.dir)
        .filter((entry) => entry.index < newest.index)
        .at(-1);
      if (before) this.#readPosition(before.file);
    }
  }

  /** Reads the last record of `file` for the chain's position; removes a last line cut short by a crash. */
  #readPosition(file: string): void {
    const size = fs.statSync(file).size;
    if (size === 0) return;
    const start = Math.max(0, size - TAIL_BYTES);
    const fd = fs.openSync(file, 'r');
    let tail: Buffer;
    try {
      tail = Buffer.alloc(size - start);
      fs.readSync(fd, tail, 0, tail.length, start);
    } finally {
      fs.closeSync(fd);
    }
    let end = tail.length;
    if (tail[end - 1] !== 0x0a) {
      const lastNewline = tail.lastIndexOf(0x0a);
      if (lastNewline === -1 && start > 0) {
        throw new FinanceError('STORE_UNAVAILABLE', `The last record of ${file} is longer than ${TAIL_BYTES} bytes.`);
      }
      const keep = start + lastNewline + 1;
      this.#repairedBytes += size - keep;
      fs.truncateSync(file, keep);
      end = lastNewline + 1;
    }
    const text = tail.subarray(0, end).toString('utf8').replace(/\n$/, '');
    const lastLine = text.slice(text.lastIndexOf('\n') + 1);
    if (lastLine.length === 0) return;
    const checked = checkLine(lastLine);
    if (!checked.ok) {
      throw new FinanceError(
        'STORE_UNAVAILABLE',
        `The last record of ${file} ${checked.reason}; run finance-audit-verify on ${this.dir} and keep the trail as evidence before starting a new one in another directory.`,
      );
    }
    this.#position = { seq: checked.seq, hash: checked.hash };
  }
}

const shared = new Map<string, { trail: AuditTrail; users: number }>();

/**
 * The one writer of the trail in `options.dir` in this process, shared by every node that writes to it;
 * release it with the returned function (the last release closes it).
 */
export function openAuditTrail(options: AuditTrailOptions): { trail: AuditTrail; release: () => Promise<void> } {
  const dir = path.resolve(options.dir);
  let entry = shared.get(dir);
  if (!entry) {
    entry = { trail: new AuditTrail({ ...options, dir }), users: 0 };
    shared.set(dir, entry);
  }
  entry.users += 1;
  const held = entry;
  let released = false;
  return {
    trail: held.trail,
    release: async () => {
      if (released) return;
      released = true;
      held.users -= 1;
      if (held.users > 0) return;
      shared.delete(dir);
      await held.trail.close();
    },
  };
}
