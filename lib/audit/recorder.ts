/**
 * Records every observation of the nodes (lib/observe/hub.ts) in an audit trail. One recorder per trail
 * directory in a process, however many finance-audit nodes name it, so each observation is written once.
 *
 * A redeploy closes the finance-audit node and starts a new one a moment later, while the other nodes keep
 * working. So when the last recorder of a directory stops, the observations of the next `graceMs` (at most
 * `maxRecords`) are held and handed to the next recorder of that directory. What could not be handed over
 * (the grace ended, or more arrived than are held) is written by that next recorder as a `records-dropped`
 * record, so the gap shows in the chain.
 */
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
  const before = handover.dropped;
  handover.dropped = {
    count: (before?.count ?? 0) + count,
    firstAt: before?.firstAt ?? firstAt,
    lastAt,
  };
}

function atOf(record: Observation | Record<string, unknown>): string {
  return typeof record.at === 'string' ? record.at : new Date().toISOString();
}
