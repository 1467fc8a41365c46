/**
 * One writer per trail directory, across processes: a lock file `audit.lock` in the directory, created
 * exclusively (O_EXCL) with the writer's pid inside. Two writers would each continue the chain from the same
 * last record, so the second one is refused. A lock whose pid is no longer running (a crash, a kill -9) is
 * stale and taken over.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FinanceError } from '../errors';

export const LOCK_FILE_NAME = 'audit.lock';

/**
 * Directories whose lock this process holds. A lock with this process's own pid that is not listed here was
 * left by an earlier run that had the same pid (containers restart with the same low pids): it is stale.
 */
const lockedHere = new Set<string>();

/** Takes the lock of `dir` (a real path) or throws naming the holder; returns the function that releases it. */
export function lockTrailDirectory(dir: string): () => void {
  const file = path.join(dir, LOCK_FILE_NAME);
  if (!createLock(file)) {
    const holder = lockHolder(file);
    if (holder !== undefined && isHolding(holder, dir)) throw refusal(dir, holder);
    fs.rmSync(file, { force: true });
    // Another process may have taken the stale lock over at the same moment: only one create succeeds.
    if (!createLock(file)) throw refusal(dir, lockHolder(file));
  }
  lockedHere.add(dir);
  return () => releaseLock(dir, file);
}

function releaseLock(dir: string, file: string): void {
  lockedHere.delete(dir);
  // Never remove a lock another process took over (possible only if ours was wrongly seen as stale).
  if (lockHolder(file) === process.pid) fs.rmSync(file, { force: true });
}

/** Creates the lock file with our pid; false if it exists already. */
function createLock(file: string): boolean {
  let fd: number;
  try {
    fd = fs.openSync(file, 'wx');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    fs.writeSync(fd, `${process.pid}\n`);
  } finally {
    fs.closeSync(fd);
  }
  return true;
}

/** The pid in a lock file; undefined if it is gone or holds no pid (cut short by a crash right after creating it). */
function lockHolder(file: string): number | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const pid = Number.parseInt(text.trim(), 10);
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
}

function isHolding(pid: number, dir: string): boolean {
  if (pid === process.pid) return lockedHere.has(dir);
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process runs under another user, so it is alive.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function refusal(dir: string, holder: number | undefined): FinanceError {
  const who = holder === process.pid ? 'this process' : `process ${holder ?? '(unknown pid)'}`;
  return new FinanceError(
    'STORE_UNAVAILABLE',
    `The audit trail in ${dir} is already being written by ${who} (lock file ${LOCK_FILE_NAME}); two writers would break its chain. Give each Node-RED its own audit directory.`,
  );
}
