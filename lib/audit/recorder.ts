/**
 * Records every observation of the nodes (lib/observe/hub.ts) in an audit trail. One recorder per trail
 * directory in a process, however many finance-audit nodes name it, so each observation is written once.
 */
import { observations, type ObservationHub } from '../observe/hub';
import { recordOfObservation } from './record';
import { openAuditTrail, type AuditTrail, type AuditTrailOptions } from './trail';

export interface Recorder {
  trail: AuditTrail;
  /** Stops this user's share; the last one stops recording and closes the trail. */
  release(): Promise<void>;
}

interface SharedRecorder {
  users: number;
  stop: () => void;
  failureListeners: Set<(error: Error) => void>;
}

const recorders = new Map<AuditTrail, SharedRecorder>();

/**
 * Starts (or joins) recording into the trail of `options.dir`. `onFailure` hears about records that could not
 * be written (e.g. a full disk), so the node can show it.
 */
export function startRecording(
  options: AuditTrailOptions,
  onFailure: (error: Error) => void,
  hub: ObservationHub = observations,
): Recorder {
  const opened = openAuditTrail(options);
  const trail = opened.trail;
  let shared = recorders.get(trail);
  if (!shared) {
    const failureListeners = new Set<(error: Error) => void>();
    const stop = hub.subscribe((observation) => {
      trail.append(recordOfObservation(observation)).catch((error: Error) => {
        for (const listener of failureListeners) listener(error);
      });
    });
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
        held.stop();
        recorders.delete(trail);
      }
      await opened.release();
    },
  };
}
