/**
 * The writer of an append-only, hash-chained audit trail (format: chain.ts; files: files.ts).
 *
 * - Appends are serialized: records waiting while a write runs go out together in the next write, each
 *   chained to the one before, then the file is synced before their promises resolve.
 * - A write is all or nothing: every byte is written (a full disk may take only part of it) and synced, or
 *   the file is cut back to its size before the write and the chain stays where it was. Records whose write
 *   failed are counted like refused ones (below).
 * - Restarts continue the chain: opening reads the last record of the newest file for its seq and hash.
 *   A last line cut short by a crash (never acknowledged, since appends resolve after the sync) is removed and
 *   a `trail-repaired` record says how many bytes were dropped.
 * - Rotation by size: a record that would take the current file past `maxFileBytes` starts the next file.
 * - A bounded queue: when the disk falls behind by `maxPendingRecords`, new records are refused rather than
 *   held in memory until the process runs out of it; the gap is then written into the chain as one
 *   `records-dropped` record (how many, first and last time), so a reader of the trail sees it.
 * - Records are limited in size (limit.ts), so the last one can always be read back.
 * - One writer per directory: openAuditTrail shares it in a process (keyed by the directory's real path, so a
 *   symlink names the same trail), and a lock file refuses a second process (lock.ts).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FinanceError } from '../errors';
import { chainLine, checkLine, GENESIS_HASH, isWholeJson, type ChainPosition } from './chain';
import { endsWithNewline, lastNewlineBefore, readRange, realDisk, writeAll, type TrailDisk } from './disk';
import { listTrailFiles, trailFileName } from './files';
import { limitRecordSize, MAX_RECORD_BYTES } from './limit';
import { lockTrailDirectory } from './lock';

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
  /** The disk calls used to write; tests replace them to act out a full disk. */
  disk?: TrailDisk;
}

/** Records that never reached the trail (refused, or their write failed), written into the chain later. */
export interface DroppedRecords {
  count: number;
  firstAt: string;
  lastAt: string;
}

/** The part of a trail written so far: every file before `file` whole, and `file` up to `bytes`. */
export interface WrittenExtent {
  file: string;
  bytes: number;
}

interface Pending {
  fields: Record<string, unknown>;
  resolve: (position: ChainPosition) => void;
  reject: (error: Error) => void;
}

/** The records of one batch that go into the current file in one write. */
interface Chunk {
  entries: Pending[];
  positions: ChainPosition[];
  data: Buffer;
}

export class AuditTrail {
  readonly dir: string;
  readonly #maxFileBytes: number;
  readonly #sync: boolean;
  readonly #maxPending: number;
  readonly #disk: TrailDisk;
  readonly #unlock: () => void;
  readonly #failureListeners = new Set<(error: Error) => void>();
  #dropped: DroppedRecords | undefined;
  #position: ChainPosition = { seq: 0, hash: GENESIS_HASH };
  #fileIndex = 1;
  /** Size of the current file as far as whole, synced records go; a failed write is cut back to it. */
  #fileBytes = 0;
  /** A failed write's bytes could not be cut off yet: the next write tries again first. */
  #fileHasFragment = false;
  #fd: number | undefined;
  #pending: Pending[] = [];
  #writing: Promise<void> | undefined;
  #closed = false;
  #repairedBytes = 0;

  constructor(options: AuditTrailOptions) {
    this.#maxFileBytes = options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
    this.#sync = options.sync ?? true;
    this.#maxPending = options.maxPendingRecords ?? DEFAULT_MAX_PENDING_RECORDS;
    this.#disk = options.disk ?? realDisk;
    if (!Number.isInteger(this.#maxFileBytes) || this.#maxFileBytes < 1024) {
      throw new FinanceError('CONFIG_INVALID', 'The audit trail file size must be at least 1024 bytes.');
    }
    if (!Number.isInteger(this.#maxPending) || this.#maxPending < 1) {
      throw new FinanceError('CONFIG_INVALID', 'The audit queue limit must be a whole number of at least 1.');
    }
    this.dir = realTrailDirectory(options.dir);
    this.#unlock = lockTrailDirectory(this.dir);
    try {
      this.#openNewest();
    } catch (err) {
      this.#unlock();
      throw err;
    }
    // The repair note goes out now; should that write fail, it waits for the next one (see #takeBatch).
    if (this.#repairedBytes > 0) this.#startWriting();
  }

  /** seq and hash of the last record written. */
  get position(): ChainPosition {
    return { ...this.#position };
  }

  /** How far the trail is written: a verifier that stops there never meets a write under way. */
  writtenExtent(): WrittenExtent {
    return { file: path.join(this.dir, trailFileName(this.#fileIndex)), bytes: this.#fileBytes };
  }

  /**
   * Hears about failed writes of the records the trail writes on its own (`trail-repaired`,
   * `records-dropped`), which no caller waits for. Returns the function that stops listening.
   */
  onFailure(listener: (error: Error) => void): () => void {
    this.#failureListeners.add(listener);
    return () => {
      this.#failureListeners.delete(listener);
    };
  }

  /** Appends one record (plain, redacted JSON fields); resolves with its seq and hash once it is on disk. */
  append(fields: Record<string, unknown>): Promise<ChainPosition> {
    if (this.#closed) {
      return Promise.reject(new FinanceError('STORE_UNAVAILABLE', `The audit trail in ${this.dir} is closed.`));
    }
    if (this.#pending.length >= this.#maxPending) {
      this.#countDropped(1);
      return Promise.reject(
        new FinanceError(
          'STORE_UNAVAILABLE',
          `The audit trail in ${this.dir} is ${this.#maxPending} records behind; records are dropped and counted until the disk catches up. Check the disk's speed and free space.`,
        ),
      );
    }
    return new Promise((resolve, reject) => {
      const failed = (error: Error) => {
        // Its write failed: the next write says in the chain that it is missing.
        this.#countDropped(1);
        reject(error);
      };
      this.#pending.push({ fields, resolve, reject: failed });
      this.#startWriting();
    });
  }

  /** Counts records lost before they reached this trail (e.g. by a redeploy); the next write records the gap. */
  recordDropped(dropped: DroppedRecords): void {
    this.#countDropped(dropped.count, dropped.firstAt, dropped.lastAt);
    if (!this.#closed) this.#startWriting();
  }

  /** Resolves once every record appended so far is on disk (or failed), e.g. before a verification. */
  async idle(): Promise<void> {
    while (this.#writing) await this.#writing;
  }

  /** Waits for the records already appended, then closes the file and gives up the directory's lock. */
  async close(): Promise<void> {
    if (this.#closed) return this.idle();
    this.#closed = true;
    await this.idle();
    if (this.#fd !== undefined) fs.closeSync(this.#fd);
    this.#fd = undefined;
    this.#unlock();
  }

  #countDropped(count: number, firstAt = new Date().toISOString(), lastAt = firstAt): void {
    const before = this.#dropped;
    this.#dropped = {
      count: (before?.count ?? 0) + count,
      firstAt: before && before.firstAt < firstAt ? before.firstAt : firstAt,
      lastAt: before && before.lastAt > lastAt ? before.lastAt : lastAt,
    };
  }

  #startWriting(): void {
    this.#writing ??= this.#drain();
  }

  async #drain(): Promise<void> {
    // Yield once so that records appended in the same tick share one write and one sync.
    await Promise.resolve();
    try {
      let batch = this.#takeBatch();
      while (batch.length > 0) {
        await this.#writeBatch(batch);
        // Only appends keep the loop going: the trail's own notes, put back after a failed write, wait for
        // the next append instead of retrying a full disk for ever.
        batch = this.#pending.length > 0 ? this.#takeBatch() : [];
      }
    } finally {
      this.#writing = undefined;
    }
  }

  /** The waiting appends, after a repair note and followed by a gap record if either is due. */
  #takeBatch(): Pending[] {
    const batch = this.#pending;
    this.#pending = [];
    if (this.#repairedBytes > 0) batch.unshift(this.#repairRecord(this.#repairedBytes));
    this.#repairedBytes = 0;
    // Records are refused only while the queue is full, so after every record of this batch was queued.
    if (this.#dropped) batch.push(this.#gapRecord(this.#dropped));
    this.#dropped = undefined;
    return batch;
  }

  /** The record that says how many bytes of a cut-short last line were removed at start. */
  #repairRecord(droppedBytes: number): Pending {
    const fields = { at: new Date().toISOString(), kind: 'trail', step: 'trail-repaired', droppedBytes };
    return this.#ownRecord(fields, () => {
      this.#repairedBytes += droppedBytes;
    });
  }

  /** The record that says how many records were dropped, and between which times. */
  #gapRecord(dropped: DroppedRecords): Pending {
    const fields = { at: dropped.lastAt, kind: 'trail', step: 'records-dropped', ...dropped };
    return this.#ownRecord(fields, () => this.#countDropped(dropped.count, dropped.firstAt, dropped.lastAt));
  }

  /** A record no caller waits for: if its write fails, `keepForNextWrite` puts it back and listeners hear. */
  #ownRecord(fields: Record<string, unknown>, keepForNextWrite: () => void): Pending {
    return {
      fields,
      resolve: () => undefined,
      reject: (error) => {
        keepForNextWrite();
        for (const listener of this.#failureListeners) listener(error);
      },
    };
  }

  /** Writes the batch file by file; the first failure fails the rest of the batch and the chain stays there. */
  async #writeBatch(batch: Pending[]): Promise<void> {
    let rest = batch;
    try {
      while (rest.length > 0) {
        const chunk = this.#nextChunk(rest);
        if (chunk.entries.length === 0) {
          this.#rotate();
          continue;
        }
        await this.#writeToFile(chunk.data);
        this.#fileBytes += chunk.data.length;
        this.#position = chunk.positions.at(-1)!;
        chunk.entries.forEach((entry, index) => entry.resolve(chunk.positions[index]!));
        rest = rest.slice(chunk.entries.length);
      }
    } catch (err) {
      const error = new FinanceError(
        'STORE_UNAVAILABLE',
        `The audit trail in ${this.dir} could not be written: ${(err as Error).message}`,
        { cause: err },
      );
      rest.forEach((entry) => entry.reject(error));
    }
  }

  /** The first records of `entries` that fit into the current file, chained on from the last one written. */
  #nextChunk(entries: Pending[]): Chunk {
    const lines: string[] = [];
    const positions: ChainPosition[] = [];
    let bytes = 0;
    let position = this.#position;
    for (const entry of entries) {
      let chained = chainLine(position, entry.fields);
      let text = chained.line + '\n';
      let size = Buffer.byteLength(text);
      // Checked on the line the chain makes anyway, so a record of usual size costs no second serialisation.
      if (size > MAX_RECORD_BYTES) {
        chained = chainLine(position, limitRecordSize(entry.fields));
        text = chained.line + '\n';
        size = Buffer.byteLength(text);
      }
      const used = this.#fileBytes + bytes;
      // A record that would take a non-empty file past its size starts the next file.
      if (used > 0 && used + size > this.#maxFileBytes) break;
      lines.push(text);
      bytes += size;
      position = { seq: chained.seq, hash: chained.hash };
      positions.push(position);
    }
    return { entries: entries.slice(0, positions.length), positions, data: Buffer.from(lines.join(''), 'utf8') };
  }

  /** Writes and syncs all of `data`, or cuts the file back to where it was, so no fragment stays in it. */
  async #writeToFile(data: Buffer): Promise<void> {
    const fd = this.#fd!;
    try {
      if (this.#fileHasFragment) await this.#cutBackFragment(fd);
      await writeAll(this.#disk, fd, data);
      if (this.#sync) await this.#disk.fdatasync(fd);
    } catch (err) {
      this.#fileHasFragment = true;
      // If even this fails, the next write tries again before it writes.
      await this.#cutBackFragment(fd).catch(() => undefined);
      throw err;
    }
  }

  async #cutBackFragment(fd: number): Promise<void> {
    await this.#disk.ftruncate(fd, this.#fileBytes);
    this.#fileHasFragment = false;
  }

  /** Starts the next file; the current one stays open until the next one is. */
  #rotate(): void {
    const fd = fs.openSync(path.join(this.dir, trailFileName(this.#fileIndex + 1)), 'a');
    if (this.#fd !== undefined) fs.closeSync(this.#fd);
    this.#fd = fd;
    this.#fileIndex += 1;
    this.#fileBytes = 0;
    this.#fileHasFragment = false;
  }

  #openNewest(): void {
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
    const fd = fs.openSync(file, 'r+');
    try {
      const size = this.#removeCutShortLine(fd, fs.fstatSync(fd).size, file);
      if (size === 0) return;
      // The last line runs from the newline before it (however far back) to its own newline.
      const start = lastNewlineBefore(fd, size - 1) + 1;
      const lastLine = readRange(fd, start, size - 1).toString('utf8');
      if (lastLine.length === 0) return;
      const checked = checkLine(lastLine);
      if (!checked.ok) throw this.#badLastRecord(file, checked.reason);
      this.#position = { seq: checked.seq, hash: checked.hash };
    } finally {
      fs.closeSync(fd);
    }
  }

  #badLastRecord(file: string, reason: string): FinanceError {
    return new FinanceError(
      'STORE_UNAVAILABLE',
      `The last record of ${file} ${reason}; run finance-audit-verify on ${this.dir} and keep the trail as evidence before starting a new one in another directory.`,
    );
  }

  /**
   * Cuts a last line without its newline (a write cut short by a crash); returns the file's size after. A whole
   * record there lost only its line end, which is added back; an edited one is kept as evidence and refused.
   */
  #removeCutShortLine(fd: number, size: number, file: string): number {
    if (size === 0 || endsWithNewline(fd, size)) return size;
    const keep = lastNewlineBefore(fd, size) + 1;
    const lastLine = readRange(fd, keep, size).toString('utf8');
    if (isWholeJson(lastLine)) {
      const checked = checkLine(lastLine);
      if (!checked.ok) throw this.#badLastRecord(file, checked.reason);
      fs.writeSync(fd, '\n', size);
      return size + 1;
    }
    fs.ftruncateSync(fd, keep);
    this.#repairedBytes += size - keep;
    return keep;
  }
}

/** The real path of a trail directory, made if missing: two names of one directory must share one writer. */
function realTrailDirectory(dir: string): string {
  const resolved = path.resolve(dir);
  fs.mkdirSync(resolved, { recursive: true });
  return fs.realpathSync(resolved);
}

const shared = new Map<string, { trail: AuditTrail; users: number }>();

/**
 * The one writer of the trail in `options.dir` in this process, shared by every node that writes to it;
 * release it with the returned function (the last release closes it).
 */
export function openAuditTrail(options: AuditTrailOptions): { trail: AuditTrail; release: () => Promise<void> } {
  const dir = realTrailDirectory(options.dir);
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
