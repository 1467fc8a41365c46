/**
 * A redeploy of the finance-audit node: the last recorder of a directory stops, and a new one starts a moment
 * later while the other nodes keep reporting. What they report in between is handed to the new recorder;
 * what cannot be (the grace ended, or too much) shows in the chain as a records-dropped record.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { HANDOVER_FILE_NAME, saveHandovers, startRecording, type HandoverLimits } from '../../../lib/audit/recorder';
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

describe('recording across a stop of the process', () => {
  afterEach(() => jest.useRealTimers());
  const limits = { graceMs: 30_000, maxRecords: 100 };

  /** Records observation 1, stops, has `whileStopping` published, and exits (the exit hook runs). */
  async function stopProcess(dir: string, hub: ObservationHub, whileStopping: () => void): Promise<void> {
    const recorder = startRecording({ dir, sync: false }, fail, hub, limits);
    hub.publish(erpCall(1));
    await recorder.release();
    whileStopping();
    saveHandovers();
  }

  async function nextStart(dir: string, hub: ObservationHub, onFailure: (error: Error) => void = fail) {
    const recorder = startRecording({ dir, sync: false }, onFailure, hub, limits);
    hub.publish(erpCall(9));
    await recorder.trail.idle();
    await recorder.release();
  }

  it('saves what was reported after the recorder stopped, and the next start writes it first, once', async () => {
    const dir = tempDir();
    const hub = new ObservationHub();
    await stopProcess(dir, hub, () => {
      hub.publish(erpCall(2));
      hub.publish(erpCall(3));
    });
    const savedFile = path.join(dir, HANDOVER_FILE_NAME);
    expect(JSON.parse(fs.readFileSync(savedFile, 'utf8')).records).toHaveLength(2);
    // Nothing is held after the exit.
    hub.publish(erpCall(4));

    await nextStart(dir, hub);
    expect(recorded(dir).map((r) => r.correlationId)).toEqual(['c-1', 'c-2', 'c-3', 'c-9']);
    expect(fs.existsSync(savedFile)).toBe(false);
    expect(verifyTrail(dir)).toMatchObject({ ok: true, records: 4 });
  });

  it('saves the count of what the grace period gave up, for a records-dropped record', async () => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    const dir = tempDir();
    const hub = new ObservationHub();
    await stopProcess(dir, hub, () => {
      hub.publish(erpCall(2));
      jest.advanceTimersByTime(30_000);
    });
    await nextStart(dir, hub);
    const records = recorded(dir);
    expect(records.map((r) => r.correlationId ?? r.step)).toEqual(['c-1', 'c-9', 'records-dropped']);
    expect(records[2]).toMatchObject({ count: 1, firstAt: erpCall(2).at, lastAt: erpCall(2).at });
  });

  it('writes each saved record once when a start stops again at once', async () => {
    const dir = tempDir();
    const hub = new ObservationHub();
    await stopProcess(dir, hub, () => hub.publish(erpCall(2)));
    // The second start takes c-2 and stops with c-3 held.
    await stopProcess(dir, hub, () => hub.publish(erpCall(3)));
    await nextStart(dir, hub);
    expect(recorded(dir).map((r) => r.correlationId)).toEqual(['c-1', 'c-2', 'c-1', 'c-3', 'c-9']);
    expect(verifyTrail(dir)).toMatchObject({ ok: true, records: 5 });
  });

  it('moves an unreadable saved handover aside, says so, and records on', async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, HANDOVER_FILE_NAME), '{"records": [1, 2');
    const failures: Error[] = [];
    await nextStart(dir, new ObservationHub(), (error) => failures.push(error));
    expect(failures.map((error) => error.message)).toEqual([
      expect.stringMatching(/audit-handover\.json could not be read .* kept as .*audit-handover\.json\.unreadable/),
    ]);
    expect(fs.existsSync(path.join(dir, `${HANDOVER_FILE_NAME}.unreadable`))).toBe(true);
    expect(recorded(dir).map((r) => r.correlationId)).toEqual(['c-9']);
  });
});
