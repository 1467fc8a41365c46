/**
 * The identity of this Node-RED instance, for lease owners (recovery.ts) and default MQTT client ids: the host
 * name and a digest of the instance's user directory. Several instances on one machine that share a store
 * then do not take each other's live leases for an earlier process of their own, and each has its own broker
 * session. The identity stays the same across restarts of the instance (same host, same user directory), which
 * is what lets a restarted instance take over its own leases at once and get its broker session back.
 */
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import * as path from 'node:path';

/** e.g. "host-1~3fa2b9c0": characters a lease owner and an MQTT client id can carry (no '@', '/'). */
export function instanceId(userDir: string = process.cwd(), host: string = hostname()): string {
  const dir = createHash('sha256').update(path.resolve(userDir)).digest('hex').slice(0, 8);
  const name = host.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 40) || 'host';
  return `${name}~${dir}`;
}

/** The default MQTT client id of an intake node on this instance: stable across restarts, unique per instance. */
export function defaultClientId(nodeId: string, instance: string): string {
  return `finance-sync-${nodeId}-${instance}`;
}
