/**
 * A redeploy of the finance-audit node: the last recorder of a directory stops, and a new one starts a moment
 * later while the other nodes keep reporting. What they report in between is handed to the new recorder;
 * what cannot be (the grace ended, or too much) shows in the chain as a records-dropped record.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startRecording, type HandoverLimits } from '../../../lib/audit/recorder';
import { ObservationHub } from '../../../lib/observe/hub';
import type { Observation } from '../../../lib/observe/observation';
import { verifyTrail } from '../../../lib/audit/verify';

const dirs: string[] = [];
function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'finance-audit-handover-'));
  dirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

function erpCall(n: number): Observation {
  return {
    kind: 'erp-call',
    at: `2026-11-29T04:00:${String(n).padStart(2, '0')}.000Z`,
    node: { type: 'finance-erp', id: 'e1' },
    correlationId: `c-${n}`,
  } as Observation;
}

function recorded(dir: string): Array<Record<string, unknown>> {
  return fs
    .readFileSync(path.join(dir, 'audit-000001.jsonl'), 'utf8')
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

const fail = (error: Error) => {
  throw error;
};

/** Records observation 1, stops, publishes `between`, starts again, records one more, stops for good. */
async function redeploy(dir: string, hub: ObservationHub, limits: HandoverLimits, between: () => void) {
  const first = startRecording({ dir, sync: false }, fail, hub, limits);
  hub.publish(erpCall(1));
  await first.release();
  between();
  const second = startRecording({ dir, sync: false }, fail, hub, limits);
  hub.publish(erpCall(9));
  await second.trail.idle();
  await second.release();
}

describe('recording across a redeploy', () => {
  afterEach(() => jest.useRealTimers());

  it('hands what was reported while no recorder ran to the next recorder, in order', async () => {
    const dir = tempDir();
    const hub = new ObservationHub();
    await redeploy(dir, hub, { graceMs: 30_000, maxRecords: 100 }, () => {
      hub.publish(erpCall(2));
      hub.publish(erpCall(3));
    });
    expect(recorded(dir).map((r) => r.correlationId)).toEqual(['c-1', 'c-2', 'c-3', 'c-9']);
    expect(verifyTrail(dir)).toMatchObject({ ok: true, records: 4 });
  });

  it('counts what did not fit in the handover in a records-dropped record', async () => {
    const dir = tempDir();
    const hub = new ObservationHub();
    await redeploy(dir, hub, { graceMs: 30_000, maxRecords: 2 }, () => {
      for (let n = 2; n <= 6; n++) hub.publish(erpCall(n));
    });
    const records = recorded(dir);
    // The gap record goes with the next write, after the records written in it.
    expect(records.map((r) => r.correlationId ?? r.step)).toEqual(['c-1', 'c-2', 'c-3', 'c-9', 'records-dropped']);
    expect(records[4]).toMatchObject({
      count: 3,
      firstAt: erpCall(4).at,
      lastAt: erpCall(6).at,
    });
  });

  it('counts what was held when the grace period ended, and holds nothing after', async () => {
    // Only the grace timer is faked: the trail's file writes and their callbacks run for real.
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    const dir = tempDir();
    const hub = new ObservationHub();
    await redeploy(dir, hub, { graceMs: 30_000, maxRecords: 100 }, () => {
      hub.publish(erpCall(2));
      hub.publish(erpCall(3));
      jest.advanceTimersByTime(30_000);
      hub.publish(erpCall(4));
    });
    const records = recorded(dir);
    expect(records.map((r) => r.correlationId ?? r.step)).toEqual(['c-1', 'c-9', 'records-dropped']);
    expect(records[2]).toMatchObject({ count: 2, firstAt: erpCall(2).at, lastAt: erpCall(3).at });
    expect(verifyTrail(dir)).toMatchObject({ ok: true, records: 3 });
  });
});
