/**
 * Records every observation of the nodes (lib/observe/hub.ts) in an audit trail. One recorder per trail
 * directory in a process, however many finance-audit nodes name it, so each observation is written once.
 *
 * A redeploy closes the finance-audit node and starts a new one a moment later, while the other nodes keep
 * working. So when the last recorder of a directory stops, the observations of the next `graceMs` (at most
 * `maxRecords`) are held and handed to the next recorder of that directory. What could not be handed over
 * (the grace ended, or more arrived than are held) is written by that next recorder as a `records-dropped`
 * record, so the gap shows in the chain.
 *
 * A stop of Node-RED closes all nodes at once, so the audit node may close while others still finish their
 * work (a retrying node waits up to 3 s). What they report then is held the same way, and when the process
 * exits it is saved next to the trail (`audit-handover.json`) for the next start's recorder to write first.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { observations, type ObservationHub } from '../observe/hub';
import type { Observation } from '../observe/observation';
import { recordOfObservation } from './record';
import { openAuditTrail, type AuditTrail, type AuditTrailOptions, type DroppedRecords } from './trail';

export interface Recorder {
  trail: AuditTrail;
  /** Stops this user's share; the last one stops recording and closes the trail. */
  release(): Promise<void>;
}

/** How long and how many observations are held for the next recorder after the last one stops. */
export interface HandoverLimits {
  graceMs: number;
  maxRecords: number;
}

/** Long enough for a deploy of a big flow; bounded so a removed audit node costs little memory. */
export const DEFAULT_HANDOVER: HandoverLimits = { graceMs: 30_000, maxRecords: 10_000 };

/** Where a process that exits leaves the records it held, in the trail directory. */
export const HANDOVER_FILE_NAME = 'audit-handover.json';

interface SharedRecorder {
  users: number;
  stop: () => void;
  failureListeners: Set<(error: Error) => void>;
}

/** Observations held for the next recorder of a directory, and a count of those that could not be held. */
interface Handover {
  records: Array<Record<string, unknown>>;
  dropped: DroppedRecords | undefined;
  stop: () => void;
  timer: NodeJS.Timeout;
}

const recorders = new Map<AuditTrail, SharedRecorder>();
/** By the trail's (real) directory. */
const handovers = new Map<string, Handover>();

/**
 * Starts (or joins) recording into the trail of `options.dir`. `onFailure` hears about records that could not
 * be written (e.g. a full disk), so the node can show it.
 */
export function startRecording(
  options: AuditTrailOptions,
  onFailure: (error: Error) => void,
  hub: ObservationHub = observations,
  handoverLimits: HandoverLimits = DEFAULT_HANDOVER,
): Recorder {
  const opened = openAuditTrail(options);
  const trail = opened.trail;
  let shared = recorders.get(trail);
  if (!shared) {
    const failureListeners = new Set<(error: Error) => void>();
    const write = (record: Record<string, unknown>) =>
      trail.append(record).catch((error: Error) => {
        for (const listener of failureListeners) listener(error);
      });
    takeSavedHandover(trail, write, onFailure);
    takeHandover(trail, write);
    const stop = hub.subscribe((observation) => void write(recordOfObservation(observation)));
    shared = { users: 0, stop, failureListeners };
    recorders.set(trail, shared);
  }
  shared.users += 1;
  shared.failureListeners.add(onFailure);
  const held = shared;
  let released = false;
  return {
    trail,
    release: async () => {
      if (released) return;
      released = true;
      held.failureListeners.delete(onFailure);
      held.users -= 1;
      if (held.users === 0) {
        // Hold first, then stop: both happen before any other code runs, so no observation falls between.
        holdForNextRecorder(trail.dir, hub, handoverLimits);
        held.stop();
        recorders.delete(trail);
      }
      await opened.release();
    },
  };
}

function holdForNextRecorder(dir: string, hub: ObservationHub, limits: HandoverLimits): void {
  const handover: Handover = {
    records: [],
    dropped: undefined,
    stop: () => undefined,
    // unref: a stopping Node-RED must not wait for the grace period.
    timer: setTimeout(() => endGrace(handover), limits.graceMs).unref(),
  };
  handover.stop = hub.subscribe((observation) => {
    if (handover.records.length < limits.maxRecords) handover.records.push(recordOfObservation(observation));
    else countDropped(handover, 1, atOf(observation), atOf(observation));
  });
  handovers.set(dir, handover);
  if (!savingAtExit) {
    savingAtExit = true;
    process.on('exit', saveHandovers);
  }
}

let savingAtExit = false;

/**
 * Saves what every directory's handover holds into its `audit-handover.json`.
 * Runs when the process exits, so it is synchronous; a failure has nowhere to be reported but stderr.
 */
export function saveHandovers(): void {
  for (const [dir, handover] of handovers) {
    clearTimeout(handover.timer);
    handover.stop();
    if (handover.records.length === 0 && !handover.dropped) continue;
    const file = path.join(dir, HANDOVER_FILE_NAME);
    try {
      // A file there already was taken by this process's recorder (at its start) and is in the trail: replace it.
      const saved: SavedHandover = { records: handover.records, dropped: handover.dropped };
      const temporary = `${file}.${process.pid}.tmp`;
      const fd = fs.openSync(temporary, 'w', 0o600);
      try {
        fs.writeSync(fd, JSON.stringify(saved));
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      fs.renameSync(temporary, file);
    } catch (err) {
      process.stderr.write(
        `finance-audit: ${handover.records.length} audit records held at exit could not be saved in ${file}: ${String(err)}\n`,
      );
    }
  }
  handovers.clear();
}

interface SavedHandover {
  records: Array<Record<string, unknown>>;
  dropped?: DroppedRecords | undefined;
}

/** The handover a stopped process saved in `file`, or undefined if there is none; throws if it is unreadable. */
function readSavedHandover(file: string): SavedHandover | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const saved = JSON.parse(text) as Partial<SavedHandover> | null;
  const records = saved?.records;
  const isRecord = (value: unknown) => typeof value === 'object' && value !== null && !Array.isArray(value);
  if (!Array.isArray(records) || !records.every(isRecord) || (saved?.dropped && !isDropped(saved.dropped))) {
    throw new Error('it is not a saved handover (records and dropped)');
  }
  return { records, dropped: saved?.dropped };
}

function isDropped(value: unknown): value is DroppedRecords {
  const dropped = value as DroppedRecords;
  return Number.isInteger(dropped.count) && typeof dropped.firstAt === 'string' && typeof dropped.lastAt === 'string';
}

/**
 * Writes what a stopped process saved, oldest first, and removes the file once written. A file that cannot be
 * read is moved aside (`.unreadable`) and reported, so it neither blocks recording nor is written twice.
 */
function takeSavedHandover(
  trail: AuditTrail,
  write: (record: Record<string, unknown>) => Promise<unknown>,
  onFailure: (error: Error) => void,
): void {
  const file = path.join(trail.dir, HANDOVER_FILE_NAME);
  let saved: SavedHandover | undefined;
  try {
    saved = readSavedHandover(file);
  } catch (err) {
    fs.rmSync(`${file}.unreadable`, { force: true });
    fs.renameSync(file, `${file}.unreadable`);
    onFailure(new Error(`${file} could not be read (${(err as Error).message}); it is kept as ${file}.unreadable`));
    return;
  }
  if (!saved) return;
  const written = saved.records.map(write);
  if (saved.dropped) trail.recordDropped(saved.dropped);
  // Failed writes are counted by the trail itself (records-dropped), so the file goes once all are settled.
  void Promise.allSettled(written).then(() => fs.rmSync(file, { force: true }));
}

function mergeDropped(a: DroppedRecords | undefined, b: DroppedRecords | undefined): DroppedRecords | undefined {
  if (!a || !b) return a ?? b;
  return {
    count: a.count + b.count,
    firstAt: a.firstAt < b.firstAt ? a.firstAt : b.firstAt,
    lastAt: a.lastAt > b.lastAt ? a.lastAt : b.lastAt,
  };
}

/** No recorder came in time: stop holding, and leave only the count for the next recorder to write. */
function endGrace(handover: Handover): void {
  handover.stop();
  const { records } = handover;
  if (records.length > 0) {
    countDropped(handover, records.length, atOf(records[0]!), atOf(records.at(-1)!));
  }
  handover.records = [];
}

/** Writes what the last recorder of this directory left: the held records, then the count of those lost. */
function takeHandover(trail: AuditTrail, write: (record: Record<string, unknown>) => unknown): void {
  const handover = handovers.get(trail.dir);
  if (!handover) return;
  handovers.delete(trail.dir);
  clearTimeout(handover.timer);
  handover.stop();
  for (const record of handover.records) write(record);
  if (handover.dropped) trail.recordDropped(handover.dropped);
}

function countDropped(handover: Handover, count: number, firstAt: string, lastAt: string): void {
  handover.dropped = mergeDropped(handover.dropped, { count, firstAt, lastAt });
}

function atOf(record: Observation | Record<string, unknown>): string {
  return typeof record.at === 'string' ? record.at : new Date().toISOString();
}
