import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { GENESIS_HASH } from '../../../lib/audit/chain';
import { listTrailFiles } from '../../../lib/audit/files';
import { AuditTrail, openAuditTrail } from '../../../lib/audit/trail';
import { verifyTrail } from '../../../lib/audit/verify';

const dirs: string[] = [];
function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'finance-audit-'));
  dirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

async function writeTrail(dir: string, count: number, maxFileBytes?: number): Promise<void> {
  const trail = new AuditTrail({ dir, maxFileBytes, sync: false });
  await Promise.all(
    Array.from({ length: count }, (_, i) =>
      trail.append({ at: `2026-01-01T00:00:${String(i % 60).padStart(2, '0')}Z`, step: 'test', n: i }),
    ),
  );
  await trail.close();
}

function lines(file: string): string[] {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.length > 0);
}

function writeLines(file: string, content: string[]): void {
  fs.writeFileSync(file, content.map((line) => line + '\n').join(''));
}

describe('audit trail chain', () => {
  it('writes records chained from the genesis hash, in append order, and verifies them', async () => {
    const dir = tempDir();
    await writeTrail(dir, 5);
    const records = lines(path.join(dir, 'audit-000001.jsonl')).map(
      (line) => JSON.parse(line) as Record<string, unknown>,
    );
    expect(records.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(records.map((r) => r.n)).toEqual([0, 1, 2, 3, 4]);
    expect(records[0]!.prev).toBe(GENESIS_HASH);
    expect(records[1]!.prev).toBe(records[0]!.hash);
    expect(verifyTrail(dir)).toMatchObject({ ok: true, records: 5, files: 1, lastSeq: 5, lastHash: records[4]!.hash });
  });

  it('names an edited record', async () => {
    const dir = tempDir();
    await writeTrail(dir, 6);
    const file = path.join(dir, 'audit-000001.jsonl');
    const content = lines(file);
    content[3] = content[3]!.replace('"n":3', '"n":33');
    writeLines(file, content);
    const result = verifyTrail(dir);
    expect(result.ok).toBe(false);
    expect(result.firstBad).toMatchObject({ file, line: 4, seq: 4 });
    expect(result.firstBad!.reason).toMatch(/edited/);
    expect(result.records).toBe(3);
  });

  it('names the record after a deleted one', async () => {
    const dir = tempDir();
    await writeTrail(dir, 6);
    const file = path.join(dir, 'audit-000001.jsonl');
    const content = lines(file);
    content.splice(2, 1);
    writeLines(file, content);
    const result = verifyTrail(dir);
    expect(result.firstBad).toMatchObject({ line: 3, seq: 4 });
    expect(result.firstBad!.reason).toMatch(/record 3 is missing.*deleted/);
  });

  it('names a reordered record', async () => {
    const dir = tempDir();
    await writeTrail(dir, 6);
    const file = path.join(dir, 'audit-000001.jsonl');
    const content = lines(file);
    [content[1], content[2]] = [content[2]!, content[1]!];
    writeLines(file, content);
    const result = verifyTrail(dir);
    expect(result.firstBad).toMatchObject({ line: 2, seq: 3 });
    expect(result.firstBad!.reason).toMatch(/reordered/);
  });

  it('catches a record rewritten with a fresh hash of its own (the next record no longer follows it)', async () => {
    const dir = tempDir();
    await writeTrail(dir, 4);
    const file = path.join(dir, 'audit-000001.jsonl');
    const content = lines(file);
    const { createHash } = await import('node:crypto');
    const forged = JSON.parse(content[1]!) as Record<string, unknown>;
    delete forged.hash;
    forged.n = 99;
    const body = JSON.stringify(forged);
    content[1] = `${body.slice(0, -1)},"hash":"${createHash('sha256').update(body).digest('hex')}"}`;
    writeLines(file, content);
    const result = verifyTrail(dir);
    expect(result.firstBad).toMatchObject({ line: 3, seq: 3 });
    expect(result.firstBad!.reason).toMatch(/replaced/);
  });

  it('rotates by size and keeps the chain across files; a deleted middle file is caught', async () => {
    const dir = tempDir();
    await writeTrail(dir, 60, 2048);
    const files = listTrailFiles(dir);
    expect(files.length).toBeGreaterThan(2);
    for (const { file } of files) expect(fs.statSync(file).size).toBeLessThanOrEqual(2048);
    const second = lines(files[1]!.file).map((line) => JSON.parse(line) as { prev: string });
    const firstFileLast = JSON.parse(lines(files[0]!.file).at(-1)!) as { hash: string };
    expect(second[0]!.prev).toBe(firstFileLast.hash);
    expect(verifyTrail(dir)).toMatchObject({ ok: true, records: 60, files: files.length });

    fs.rmSync(files[1]!.file);
    const result = verifyTrail(dir);
    expect(result.ok).toBe(false);
    expect(result.firstBad!.file).toBe(files[2]!.file);
    expect(result.firstBad!.reason).toMatch(/missing.*deleted/);
  });

  it('continues the chain after a restart, and drops a last line cut short by a crash', async () => {
    const dir = tempDir();
    await writeTrail(dir, 3);
    const file = path.join(dir, 'audit-000001.jsonl');
    fs.appendFileSync(file, '{"seq":4,"at":"2026-01-01T00:00:00Z","step":"te');
    const trail = new AuditTrail({ dir, sync: false });
    const position = await trail.append({ at: '2026-01-01T00:01:00Z', step: 'after-restart' });
    await trail.close();
    const records = lines(file).map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(records.map((r) => r.step)).toEqual(['test', 'test', 'test', 'trail-repaired', 'after-restart']);
    expect(records[3]!.droppedBytes).toBeGreaterThan(0);
    expect(position.seq).toBe(5);
    expect(verifyTrail(dir)).toMatchObject({ ok: true, records: 5 });
  });

  it('serializes concurrent appends from several users of one directory into one chain', async () => {
    const dir = tempDir();
    const a = openAuditTrail({ dir, sync: false });
    const b = openAuditTrail({ dir, sync: false });
    expect(a.trail).toBe(b.trail);
    const writes: Array<Promise<unknown>> = [];
    for (let i = 0; i < 200; i++) writes.push((i % 2 ? a : b).trail.append({ at: 'x', step: 'concurrent', i }));
    await Promise.all(writes);
    await a.release();
    await b.release();
    expect(verifyTrail(dir)).toMatchObject({ ok: true, records: 200 });
  });

  it('idle() waits for the writes under way, so a verification right after sees every record whole', async () => {
    const dir = tempDir();
    const trail = new AuditTrail({ dir });
    for (let i = 0; i < 50; i++) void trail.append({ at: 'x', step: 'burst', i });
    await trail.idle();
    expect(verifyTrail(dir)).toMatchObject({ ok: true, records: 50 });
    await trail.close();
  });

  it('refuses records beyond its queue limit and writes the gap into the chain, so memory stays bounded', async () => {
    const dir = tempDir();
    const trail = new AuditTrail({ dir, sync: false, maxPendingRecords: 3 });
    // Appended in one tick: the first write has not started, so the queue fills after three records.
    const results = await Promise.allSettled(
      Array.from({ length: 7 }, (_, i) => trail.append({ at: `2026-01-01T00:00:0${i}Z`, step: 'flood', i })),
    );
    expect(results.map((result) => result.status)).toEqual([
      'fulfilled',
      'fulfilled',
      'fulfilled',
      'rejected',
      'rejected',
      'rejected',
      'rejected',
    ]);
    expect((results[3] as PromiseRejectedResult).reason.message).toMatch(/3 records behind.*Check the disk/);
    await trail.append({ at: 'later', step: 'after' });
    await trail.close();

    const records = lines(path.join(dir, 'audit-000001.jsonl')).map(
      (line) => JSON.parse(line) as Record<string, unknown>,
    );
    expect(records.map((r) => r.step)).toEqual(['flood', 'flood', 'flood', 'records-dropped', 'after']);
    expect(records[3]).toMatchObject({
      kind: 'trail',
      count: 4,
      firstAt: expect.any(String),
      lastAt: expect.any(String),
    });
    expect(verifyTrail(dir)).toMatchObject({ ok: true, records: 5 });
  });

  it('refuses a queue limit that is not a whole number of at least 1', () => {
    expect(() => new AuditTrail({ dir: tempDir(), maxPendingRecords: 0 })).toThrow(/at least 1/);
  });

  it('the CLI exits 0 for a whole trail and 1 naming the first bad record', async () => {
    const cli = path.resolve(__dirname, '../../../dist/lib/audit/cli.js');
    const dir = tempDir();
    await writeTrail(dir, 4);
    expect(execFileSync(process.execPath, [cli, dir], { encoding: 'utf8' })).toMatch(/^OK: 4 records/);
    const file = path.join(dir, 'audit-000001.jsonl');
    const content = lines(file);
    content[2] = content[2]!.replace('"step":"test"', '"step":"TEST"');
    writeLines(file, content);
    const bad = spawnSync(process.execPath, [cli, dir], { encoding: 'utf8' });
    expect(bad.status).toBe(1);
    expect(bad.stdout).toMatch(/BAD: .*audit-000001\.jsonl line 3 \(record 3\): record was edited/);
    const missing = spawnSync(process.execPath, [cli, path.join(dir, 'nope')], { encoding: 'utf8' });
    expect(missing.status).toBe(2);
  });
});
