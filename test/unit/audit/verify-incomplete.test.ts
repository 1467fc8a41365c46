/**
 * The verifier on a trail with a crash's residue (a last line without its newline, which the writer removes at
 * its next start), the asynchronous verification the node uses, and the CLI's exit codes.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runCli } from '../../../lib/audit/cli';
import { AuditTrail } from '../../../lib/audit/trail';
import { verifyTrail, verifyTrailAsync } from '../../../lib/audit/verify';

const dirs: string[] = [];
function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'finance-audit-verify-'));
  dirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

async function writeTrail(dir: string, count: number, maxFileBytes?: number): Promise<void> {
  const trail = new AuditTrail({ dir, maxFileBytes, sync: false });
  await Promise.all(Array.from({ length: count }, (_, i) => trail.append({ at: 'x', step: 'test', n: i })));
  await trail.close();
}

const CUT_SHORT = '{"seq":4,"at":"x","step":"te';

function cli(args: string[]): { code: number; stdout: string } {
  let stdout = '';
  const code = runCli(args, { stdout: (text) => (stdout += text), stderr: () => undefined });
  return { code, stdout };
}

/** The newest file of a 4-record trail with its line end removed, and the last record changed or not. */
async function lastLineWithoutEnd(edit: boolean): Promise<{ dir: string; file: string }> {
  const dir = tempDir();
  await writeTrail(dir, 4);
  const file = path.join(dir, 'audit-000001.jsonl');
  let content = fs.readFileSync(file, 'utf8').replace(/\n$/, '');
  if (edit) content = content.replace('"n":3', '"n":33');
  fs.writeFileSync(file, content);
  return { dir, file };
}

describe('a whole last record without its line end', () => {
  it('verifies when only the line end was lost, and the writer adds it back and continues the chain', async () => {
    const { dir, file } = await lastLineWithoutEnd(false);
    expect(verifyTrail(dir)).toMatchObject({ ok: true, records: 4 });
    expect(verifyTrail(dir).incompleteLastRecord).toBeUndefined();
    await writeTrail(dir, 1);
    expect(verifyTrail(dir)).toMatchObject({ ok: true, records: 5 });
    expect(fs.readFileSync(file, 'utf8')).not.toContain('trail-repaired');
  });

  it('is a break when it was edited, and the writer refuses the trail instead of removing the evidence', async () => {
    const { dir, file } = await lastLineWithoutEnd(true);
    for (const result of [verifyTrail(dir), await verifyTrailAsync(dir)]) {
      expect(result).toMatchObject({ ok: false, records: 3, firstBad: { line: 4, seq: 4 } });
      expect(result.firstBad!.reason).toMatch(/edited/);
    }
    expect(cli([dir]).code).toBe(1);
    const before = fs.readFileSync(file);
    expect(() => new AuditTrail({ dir, sync: false })).toThrow(/last record of .*audit-000001\.jsonl was edited/);
    expect(fs.readFileSync(file)).toEqual(before);
  });
});

describe('a last record cut short by a crash', () => {
  it('is a warning, not a break, in the newest file', async () => {
    const dir = tempDir();
    await writeTrail(dir, 3);
    const file = path.join(dir, 'audit-000001.jsonl');
    fs.appendFileSync(file, CUT_SHORT);
    for (const result of [verifyTrail(dir), await verifyTrailAsync(dir)]) {
      expect(result).toMatchObject({ ok: true, records: 3, lastSeq: 3 });
      expect(result.firstBad).toBeUndefined();
      expect(result.incompleteLastRecord).toMatchObject({ file, line: 4, bytes: CUT_SHORT.length });
      expect(result.incompleteLastRecord!.reason).toMatch(/incomplete.*trail-repaired/);
    }
  });

  it('is still a break when the records before it do not verify', async () => {
    const dir = tempDir();
    await writeTrail(dir, 3);
    const file = path.join(dir, 'audit-000001.jsonl');
    const content = fs.readFileSync(file, 'utf8').replace('"n":1', '"n":11');
    fs.writeFileSync(file, content + CUT_SHORT);
    expect(verifyTrail(dir)).toMatchObject({ ok: false, firstBad: { line: 2 } });
  });

  it('is a break in a file before the newest one (the writer always ends a file with a whole line)', async () => {
    const dir = tempDir();
    await writeTrail(dir, 30, 1024);
    const first = path.join(dir, 'audit-000001.jsonl');
    fs.truncateSync(first, fs.statSync(first).size - 10);
    const result = verifyTrail(dir);
    expect(result).toMatchObject({ ok: false, firstBad: { file: first } });
    expect(result.firstBad!.reason).toMatch(/not a JSON record/);
    expect(result.incompleteLastRecord).toBeUndefined();
  });

  it('makes the CLI exit 0 with a warning', async () => {
    const dir = tempDir();
    await writeTrail(dir, 3);
    fs.appendFileSync(path.join(dir, 'audit-000001.jsonl'), CUT_SHORT);
    const { code, stdout } = cli([dir]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^OK: 3 records.*\nWARNING: .*audit-000001\.jsonl line 4: the last record is incomplete/);
  });

  it('leaves the CLI exit codes 1 for a bad record and 2 for an unreadable trail', async () => {
    const dir = tempDir();
    await writeTrail(dir, 3);
    const file = path.join(dir, 'audit-000001.jsonl');
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('"n":1', '"n":11'));
    expect(cli([dir])).toMatchObject({ code: 1, stdout: expect.stringMatching(/^BAD: .*line 2 \(record 2\)/) });
    expect(cli([path.join(dir, 'nope')]).code).toBe(2);
  });
});

describe('verifyTrailAsync', () => {
  it('lets other work run while it reads a trail', async () => {
    const dir = tempDir();
    await writeTrail(dir, 2000, 64 * 1024);
    let turns = 0;
    let verifying = true;
    const otherWork = () => {
      turns += 1;
      if (verifying) setImmediate(otherWork);
    };
    setImmediate(otherWork);
    const result = await verifyTrailAsync(dir);
    verifying = false;
    expect(result).toMatchObject({ ok: true, records: 2000 });
    // A synchronous verification would finish before the first turn.
    expect(turns).toBeGreaterThan(1);
  });

  it('finds the same bad records as verifyTrail', async () => {
    const dir = tempDir();
    await writeTrail(dir, 6);
    const file = path.join(dir, 'audit-000001.jsonl');
    const content = fs.readFileSync(file, 'utf8').split('\n');
    content.splice(2, 1);
    fs.writeFileSync(file, content.join('\n'));
    expect(await verifyTrailAsync(dir)).toEqual(verifyTrail(dir));
    expect((await verifyTrailAsync(dir)).firstBad!.reason).toMatch(/record 3 is missing.*deleted/);
  });

  it('stops at the extent it is given, so a write under way is not read', async () => {
    const dir = tempDir();
    const trail = new AuditTrail({ dir, sync: false });
    await trail.append({ at: 'x', step: 'one' });
    const extent = trail.writtenExtent();
    await trail.append({ at: 'x', step: 'two' });
    // A half-written third record past the extent, as if a write were under way.
    fs.appendFileSync(extent.file, CUT_SHORT);
    expect(await verifyTrailAsync(dir, { extent })).toEqual(
      expect.objectContaining({ ok: true, records: 1, lastSeq: 1 }),
    );
    expect((await verifyTrailAsync(dir, { extent })).incompleteLastRecord).toBeUndefined();
    await trail.close();
  });
});
