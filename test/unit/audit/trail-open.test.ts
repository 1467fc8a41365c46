/**
 * Opening a trail: a last record of any size is found at restart, records are limited in size, and one
 * directory has one writer however it is named and whichever process asks.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chainLine, GENESIS_HASH } from '../../../lib/audit/chain';
import { MAX_RECORD_BYTES } from '../../../lib/audit/limit';
import { LOCK_FILE_NAME } from '../../../lib/audit/lock';
import { AuditTrail, openAuditTrail } from '../../../lib/audit/trail';
import { verifyTrail } from '../../../lib/audit/verify';

const dirs: string[] = [];
function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'finance-audit-open-'));
  dirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

function lines(dir: string): string[] {
  return fs
    .readFileSync(path.join(dir, 'audit-000001.jsonl'), 'utf8')
    .split('\n')
    .filter((line) => line.length > 0);
}

const TWO_MIB = 2 * 1024 * 1024;

describe('reopening a trail whose last record is long', () => {
  it('finds a last record longer than any read-ahead, and continues the chain after it', async () => {
    const dir = tempDir();
    const first = chainLine({ seq: 0, hash: GENESIS_HASH }, { at: 'x', step: 'first' });
    // Written by hand: the writer itself no longer writes records this big.
    const big = chainLine(first, { at: 'x', step: 'big', pad: 'x'.repeat(TWO_MIB) });
    fs.writeFileSync(path.join(dir, 'audit-000001.jsonl'), `${first.line}\n${big.line}\n`);
    const trail = new AuditTrail({ dir, sync: false });
    expect(trail.position).toEqual({ seq: 2, hash: big.hash });
    await trail.append({ at: 'x', step: 'after' });
    await trail.close();
    expect(verifyTrail(dir)).toMatchObject({ ok: true, records: 3 });
  });

  it('removes a cut-short last line longer than any read-ahead', async () => {
    const dir = tempDir();
    const first = chainLine({ seq: 0, hash: GENESIS_HASH }, { at: 'x', step: 'first' });
    const cut = `{"seq":2,"at":"x","pad":"${'x'.repeat(TWO_MIB)}`;
    fs.writeFileSync(path.join(dir, 'audit-000001.jsonl'), `${first.line}\n${cut}`);
    const trail = new AuditTrail({ dir, sync: false });
    await trail.append({ at: 'x', step: 'after' });
    await trail.close();
    const steps = lines(dir).map((line) => (JSON.parse(line) as { step: string }).step);
    expect(steps).toEqual(['first', 'trail-repaired', 'after']);
    expect(JSON.parse(lines(dir)[1]!)).toMatchObject({ droppedBytes: cut.length });
  });
});

describe('the record size limit', () => {
  it('replaces oversized details by a note of their size, so the trail reopens', async () => {
    const dir = tempDir();
    const trail = new AuditTrail({ dir, sync: false });
    const details = { attachment: 'x'.repeat(TWO_MIB) };
    const position = await trail.append({ at: 'x', kind: 'note', step: 'manual-approval', details, approver: 'A' });
    await trail.close();

    const line = lines(dir)[0]!;
    expect(Buffer.byteLength(line)).toBeLessThanOrEqual(MAX_RECORD_BYTES);
    expect(JSON.parse(line)).toMatchObject({
      step: 'manual-approval',
      approver: 'A',
      details: { cut: true, bytes: Buffer.byteLength(JSON.stringify(details)), note: expect.stringMatching(/64 KiB/) },
    });
    const reopened = new AuditTrail({ dir, sync: false });
    expect(reopened.position).toEqual(position);
    await reopened.close();
  });

  it('keeps only time, kind and step of a record that is too big outside its details', async () => {
    const dir = tempDir();
    const trail = new AuditTrail({ dir, sync: false });
    await trail.append({ at: 'x', kind: 'note', step: 'huge-topic', other: 'y'.repeat(TWO_MIB) });
    await trail.close();
    const record = JSON.parse(lines(dir)[0]!) as Record<string, unknown>;
    expect(record).toMatchObject({ at: 'x', kind: 'note', step: 'huge-topic', cut: { cut: true } });
    expect(record.other).toBeUndefined();
  });

  it('leaves records within the limit as they are', async () => {
    const dir = tempDir();
    const trail = new AuditTrail({ dir, sync: false });
    await trail.append({ at: 'x', step: 'normal', details: { note: 'y'.repeat(1000) } });
    await trail.close();
    expect(JSON.parse(lines(dir)[0]!)).toMatchObject({ details: { note: 'y'.repeat(1000) } });
  });
});

describe('one writer per directory', () => {
  it('shares one writer between a directory and a symlink to it', async () => {
    const dir = tempDir();
    const link = path.join(tempDir(), 'link');
    fs.symlinkSync(dir, link);
    const a = openAuditTrail({ dir, sync: false });
    const b = openAuditTrail({ dir: link, sync: false });
    expect(b.trail).toBe(a.trail);
    await Promise.all(Array.from({ length: 50 }, (_, i) => (i % 2 ? a : b).trail.append({ at: 'x', step: 'both', i })));
    await a.release();
    await b.release();
    expect(verifyTrail(dir)).toMatchObject({ ok: true, records: 50 });
  });

  it('refuses a directory whose lock is held by a running process, naming the directory and its pid', async () => {
    const dir = tempDir();
    const other = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    try {
      fs.writeFileSync(path.join(dir, LOCK_FILE_NAME), `${other.pid}\n`);
      expect(() => new AuditTrail({ dir })).toThrow(
        new RegExp(`${escapeRegExp(fs.realpathSync(dir))} is already being written by process ${other.pid}`),
      );
    } finally {
      other.kill();
    }
    await new Promise((resolve) => other.once('exit', resolve));
    // Now the holder is gone: its lock is stale and taken over.
    const trail = new AuditTrail({ dir });
    expect(fs.readFileSync(path.join(dir, LOCK_FILE_NAME), 'utf8').trim()).toBe(String(process.pid));
    await trail.close();
    expect(fs.existsSync(path.join(dir, LOCK_FILE_NAME))).toBe(false);
  });

  it('takes over a lock with its own pid left by an earlier run (a restarted container reuses pids)', async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, LOCK_FILE_NAME), `${process.pid}\n`);
    const trail = new AuditTrail({ dir });
    await trail.close();
  });

  it('refuses a second writer of the same directory in this process', async () => {
    const dir = tempDir();
    const first = new AuditTrail({ dir });
    expect(() => new AuditTrail({ dir })).toThrow(/already being written by this process/);
    await first.close();
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
