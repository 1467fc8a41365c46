/**
 * One writer per trail directory, across processes: a lock file `audit.lock` in the directory, created
 * exclusively (O_EXCL) with the writer's pid inside. Two writers would each continue the chain from the same
 * last record, so the second one is refused. A lock whose pid is no longer running (a crash, a kill -9) is
 * stale and taken over.
 */
import { randomBytes } from 'node:crypto';
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
  if (!createLock(file)) takeOverStaleLock(dir, file);
  lockedHere.add(dir);
  return () => releaseLock(dir, file);
}

/**
 * Takes over a lock whose holder no longer runs, or throws naming the holder. Removing a stale lock and creating
 * ours are two steps, so two processes doing them at once could each remove the other's new lock: only the holder
 * of `audit.lock.takeover` may do them. A take-over lock left by a crash in those few lines is removed once its
 * process is gone.
 */
function takeOverStaleLock(dir: string, file: string): void {
  const takeover = `${file}.takeover`;
  if (!createLock(takeover)) {
    const other = lockHolder(takeover);
    if (other !== undefined && other !== process.pid && isRunning(other)) throw refusal(dir, lockHolder(file) ?? other);
    fs.rmSync(takeover, { force: true });
    if (!createLock(takeover)) throw refusal(dir, lockHolder(file));
  }
  try {
    if (createLock(file)) return; // its holder released it meanwhile
    const holder = lockHolder(file);
    if (holder !== undefined && isHolding(holder, dir)) throw refusal(dir, holder);
    fs.rmSync(file, { force: true });
    if (!createLock(file)) throw refusal(dir, lockHolder(file));
  } finally {
    fs.rmSync(takeover, { force: true });
  }
}

function releaseLock(dir: string, file: string): void {
  lockedHere.delete(dir);
  // Never remove a lock another process took over (possible only if ours was wrongly seen as stale).
  if (lockHolder(file) === process.pid) fs.rmSync(file, { force: true });
}

/**
 * Creates the lock file with our pid in it; false if it exists already. The pid is written to a file of our own
 * first and that file is then linked under the lock's name, so the lock never exists without its pid (a lock
 * seen empty would be taken for stale).
 */
function createLock(file: string): boolean {
  const ours = `${file}.${process.pid}.${randomBytes(6).toString('hex')}`;
  fs.writeFileSync(ours, `${process.pid}\n`, { flag: 'wx' });
  try {
    fs.linkSync(ours, file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    fs.rmSync(ours, { force: true });
  }
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
  return pid === process.pid ? lockedHere.has(dir) : isRunning(pid);
}

function isRunning(pid: number): boolean {
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
