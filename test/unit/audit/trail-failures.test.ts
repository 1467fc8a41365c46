/**
 * The writer on a disk that fails: a write that takes only part of its bytes (a filling disk), a write or a
 * sync that fails. No fragment may stay in the file, the chain must not move, and the lost records must show
 * in the chain as a `records-dropped` record. The disk is replaced through AuditTrailOptions.disk.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chainLine, GENESIS_HASH } from '../../../lib/audit/chain';
import { realDisk, type TrailDisk } from '../../../lib/audit/disk';
import { AuditTrail } from '../../../lib/audit/trail';
import { verifyTrail } from '../../../lib/audit/verify';

const dirs: string[] = [];
function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'finance-audit-failures-'));
  dirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

function records(dir: string): Array<Record<string, unknown>> {
  return fs
    .readFileSync(path.join(dir, 'audit-000001.jsonl'), 'utf8')
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

function diskError(code: string, syscall: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: disk failure, ${syscall}`), { code, syscall });
}

/** A disk whose next writes and syncs can be told to fail; everything else goes to the real disk. */
class FaultyDisk implements TrailDisk {
  /** The next write takes only this many bytes, then the one after it fails (a disk filling up). */
  shortWriteBytes: number | undefined;
  /** Every write takes at most this many bytes, without an error. */
  maxBytesPerWrite = Infinity;
  failNextSync = false;
  failWrites = false;
  #failAfterShortWrite = false;

  write(fd: number, data: Buffer, offset: number, length: number): Promise<number> {
    if (this.failWrites || this.#failAfterShortWrite) {
      this.#failAfterShortWrite = false;
      return Promise.reject(diskError('ENOSPC', 'write'));
    }
    if (this.shortWriteBytes !== undefined) {
      const taken = Math.min(this.shortWriteBytes, length);
      this.shortWriteBytes = undefined;
      this.#failAfterShortWrite = true;
      return realDisk.write(fd, data, offset, taken);
    }
    return realDisk.write(fd, data, offset, Math.min(length, this.maxBytesPerWrite));
  }

  fdatasync(fd: number): Promise<void> {
    if (!this.failNextSync) return realDisk.fdatasync(fd);
    this.failNextSync = false;
    return Promise.reject(diskError('EIO', 'fdatasync'));
  }

  ftruncate(fd: number, length: number): Promise<void> {
    return realDisk.ftruncate(fd, length);
  }
}

const note = (doc: string) => ({ at: '2026-11-29T04:00:00.000Z', kind: 'note', step: 'finance-post:posted', doc });

describe('audit trail on a failing disk', () => {
  it('writes every byte when the disk takes a write in small parts', async () => {
    const dir = tempDir();
    const disk = new FaultyDisk();
    disk.maxBytesPerWrite = 10;
    const trail = new AuditTrail({ dir, disk });
    await Promise.all(['INV-1', 'INV-2', 'INV-3'].map((doc) => trail.append(note(doc))));
    await trail.close();
    expect(records(dir).map((r) => r.doc)).toEqual(['INV-1', 'INV-2', 'INV-3']);
    expect(verifyTrail(dir)).toMatchObject({ ok: true, records: 3 });
  });

  it('cuts a short write back out of the file, keeps the chain where it was and records the lost record', async () => {
    const dir = tempDir();
    const disk = new FaultyDisk();
    const trail = new AuditTrail({ dir, disk });
    await trail.append(note('INV-1'));
    disk.shortWriteBytes = 40;
    await expect(trail.append(note('INV-2'))).rejects.toThrow(/could not be written: ENOSPC/);
    expect(trail.position.seq).toBe(1);
    const after = await trail.append(note('INV-3'));
    await trail.close();

    expect(after.seq).toBe(2);
    const written = records(dir);
    expect(written.map((r) => r.doc ?? r.step)).toEqual(['INV-1', 'INV-3', 'records-dropped']);
    expect(written[2]).toMatchObject({ kind: 'trail', count: 1 });
    expect(verifyTrail(dir)).toMatchObject({ ok: true, records: 3 });
  });

  it('cuts the lines back out when the sync fails after a whole write, so the next record does not repeat a seq', async () => {
    const dir = tempDir();
    const disk = new FaultyDisk();
    const trail = new AuditTrail({ dir, disk });
    await trail.append(note('INV-1'));
    disk.failNextSync = true;
    await expect(trail.append(note('INV-2'))).rejects.toThrow(/EIO/);
    await trail.append(note('INV-3'));
    await trail.close();

    const written = records(dir);
    expect(written.map((r) => r.seq)).toEqual([1, 2, 3]);
    expect(written.map((r) => r.doc ?? r.step)).toEqual(['INV-1', 'INV-3', 'records-dropped']);
    expect(verifyTrail(dir)).toMatchObject({ ok: true, records: 3 });
  });

  it('keeps the count of a records-dropped record whose own write failed for the next write', async () => {
    const dir = tempDir();
    const disk = new FaultyDisk();
    const trail = new AuditTrail({ dir, disk, maxPendingRecords: 1 });
    disk.failWrites = true;
    // In one tick: the queue holds INV-1 and refuses INV-2; INV-1's write then carries the records-dropped
    // record for INV-2, and both fail.
    const first = trail.append(note('INV-1'));
    await expect(trail.append(note('INV-2'))).rejects.toThrow(/1 records behind/);
    await expect(first).rejects.toThrow(/ENOSPC/);
    disk.failWrites = false;
    await trail.append(note('INV-3'));
    await trail.close();

    const written = records(dir);
    expect(written.map((r) => r.doc ?? r.step)).toEqual(['INV-3', 'records-dropped']);
    // INV-2 (refused, counted by the failed records-dropped record) and INV-1 (its write failed).
    expect(written[1]).toMatchObject({ count: 2 });
    expect(verifyTrail(dir)).toMatchObject({ ok: true, records: 2 });
  });

  it('survives a failed write of its trail-repaired record at start: it reports it and writes it later', async () => {
    const dir = tempDir();
    const line = chainLine({ seq: 0, hash: GENESIS_HASH }, note('INV-1')).line;
    fs.writeFileSync(path.join(dir, 'audit-000001.jsonl'), `${line}\n{"seq":2,"at":"2026-11-29T04:0`);
    const disk = new FaultyDisk();
    disk.failWrites = true;
    const trail = new AuditTrail({ dir, disk });
    const failure = await new Promise<Error>((resolve) => trail.onFailure(resolve));
    expect(failure.message).toMatch(/could not be written: ENOSPC/);

    disk.failWrites = false;
    await trail.append(note('INV-2'));
    await trail.close();
    const written = records(dir);
    expect(written.map((r) => r.doc ?? r.step)).toEqual(['INV-1', 'trail-repaired', 'INV-2']);
    expect(written[1]!.droppedBytes).toBe(30);
    expect(verifyTrail(dir)).toMatchObject({ ok: true, records: 3 });
  });
});
