/**
 * Whether the attempt holding a ledger marker (lib/posting/idempotent-write.ts) is over, so its marker can be
 * taken over at once (lookup first) instead of after the takeover timeout. Without this, every write that was
 * in flight when a host was killed would wait that timeout (minutes) after the restart, and the messages
 * waiting for it would use up their retries meanwhile.
 *
 * An attempt's owner names its process: `<prefix>:<process id>:<attempt id>`. The attempt is over when
 * - it ran in this process and has ended: this process keeps the set of its running attempts; or
 * - its process is gone: a process with running attempts keeps a heartbeat in the store (kv namespace
 *   HOLDER_NAMESPACE, renewed every HEARTBEAT_EVERY_MS while attempts run), so a marker whose process has no
 *   live heartbeat was left by a process that crashed or was killed. The heartbeat expires heartbeatTtlMs()
 *   after its last renewal: HEARTBEAT_TTL_MS, or longer when a client of this process waits longer for an
 *   answer. A request the dead process sent just before it died (at most HEARTBEAT_EVERY_MS after the last
 *   renewal) is then past its timeout and its settle time (settleAfterMs) when the heartbeat lapses, as a live
 *   process would wait for both before its next attempt looks the document up.
 * Owners in another format (older versions, other writers) are never judged over here: only the timeout applies.
 */
import { randomUUID } from 'node:crypto';
import { longestRequestTimeoutMs } from '../erp/request-timeouts';
import type { FinanceStore } from '../reliability/store';

export const HOLDER_NAMESPACE = 'ledger-holders';
export const HEARTBEAT_TTL_MS = 30_000;
export const HEARTBEAT_EVERY_MS = 10_000;

/** Names this process in the owners of its attempts. */
export const PROCESS_ID = randomUUID();
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

type HeartbeatStore = Pick<FinanceStore, 'kvPut' | 'kvGet'>;

interface Heartbeat {
  running: number;
  /** When this process last renewed its heartbeat in the store (this host's clock). */
  renewedAt: number;
  /** The lifetime it was renewed with (heartbeatTtlMs then). */
  ttlMs: number;
  timer?: NodeJS.Timeout;
}

/**
 * How long the ERP may go on applying a request after its client stopped waiting (a timeout, a reset): as
 * long again as the longest request timeout of this process (lib/erp/request-timeouts.ts). The ERP does not
 * know the client's timeout; its own limit is unknown, so the connection's Timeout, which says how long this
 * ERP may take, is taken once more.
 */
export function settleAfterMs(): number {
  return longestRequestTimeoutMs();
}

/**
 * How long this process's heartbeat outlives its last renewal: until every request the process may have sent
 * before dying is past its timeout (lib/erp/request-timeouts.ts) and its settle time, and at least
 * HEARTBEAT_TTL_MS.
 */
export function heartbeatTtlMs(): number {
  return Math.max(HEARTBEAT_TTL_MS, HEARTBEAT_EVERY_MS + longestRequestTimeoutMs() + settleAfterMs());
}

/** The owners of the attempts running in this process. */
const running = new Set<string>();
/** Per store: this process's heartbeat in it. */
const heartbeats = new WeakMap<HeartbeatStore, Heartbeat>();

export function attemptOwner(prefix: string, attemptId: string): string {
  return `${prefix}:${PROCESS_ID}:${attemptId}`;
}

/**
 * Records that `owner` starts an attempt on `store`; renews this process's heartbeat there first if it is due,
 * so no marker of a live process is ever found without one. Pair with endAttempt.
 */
export async function beginAttempt(store: HeartbeatStore, owner: string): Promise<void> {
  let heartbeat = heartbeats.get(store);
  if (!heartbeat) {
    heartbeat = { running: 0, renewedAt: 0, ttlMs: 0 };
    heartbeats.set(store, heartbeat);
  }
  // Also at once when a client with a longer timeout appeared since: its requests need the longer lifetime.
  if (Date.now() - heartbeat.renewedAt >= HEARTBEAT_EVERY_MS || heartbeat.ttlMs < heartbeatTtlMs()) {
    await renew(store, heartbeat);
  }
  running.add(owner);
  heartbeat.running += 1;
  if (!heartbeat.timer) {
    const beat = heartbeat;
    // Renewed while attempts run, however long they wait for a connection slot.
    beat.timer = setInterval(() => renew(store, beat).catch(() => undefined), HEARTBEAT_EVERY_MS);
    beat.timer.unref();
  }
}

export function endAttempt(store: HeartbeatStore, owner: string): void {
  running.delete(owner);
  const heartbeat = heartbeats.get(store);
  if (!heartbeat) return;
  heartbeat.running -= 1;
  if (heartbeat.running <= 0) {
    heartbeat.running = 0;
    clearInterval(heartbeat.timer);
    heartbeat.timer = undefined;
  }
}

/** True when the attempt `owner` certainly writes no more: it ended in this process, or its process is gone. */
export async function isOver(store: HeartbeatStore, owner: string): Promise<boolean> {
  if (running.has(owner)) return false;
  const parts = owner.split(':');
  const processId = parts.length >= 3 ? parts[parts.length - 2] : '';
  if (!UUID.test(processId)) return false;
  if (processId === PROCESS_ID) return true;
  return (await store.kvGet(HOLDER_NAMESPACE, processId)) === undefined;
}

async function renew(store: HeartbeatStore, heartbeat: Heartbeat): Promise<void> {
  const ttlMs = heartbeatTtlMs();
  await store.kvPut(HOLDER_NAMESPACE, PROCESS_ID, { renewedAt: new Date().toISOString() }, ttlMs);
  heartbeat.renewedAt = Date.now();
  heartbeat.ttlMs = ttlMs;
}
