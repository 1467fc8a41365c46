/**
 * Coupa as a polled intake (finance-event-in, mode "poll"): every interval a CoupaPoller round fetches the
 * documents not yet exported, hands each to the intake (de-duplicate on source + id, commit to the store with
 * a lease) and only after the commit marks it exported. The loop and what it keeps in the store are
 * ./polling.ts; the round is lib/sources/coupa-poller.ts.
 *
 * The documents come from Coupa's API over the source's authenticated connection, not from a sender that
 * signs them, so there is no signature to check: the intake runs with the scheme "none". A document the
 * profile cannot read is reported once on the rejected output and left unexported in Coupa, where someone
 * must correct it; it is not reported again every round.
 */
import { FinanceError } from '../errors';
import type { ErpHttp } from '../erp/client';
import type { FinanceStore } from '../reliability/store';
import { CoupaPoller, type CoupaDocument, type CoupaPollReport, type CoupaResource } from '../sources/coupa-poller';
import { coupaContentDigest, type CoupaProfile } from '../sources/profiles/coupa';
import type { SourceProfile } from '../sources/profiles/profile';
import { runnerHolder, runnerTtlMs } from '../reliability/single-runner';
import { Intake, type Admission, type IntakeResult } from './intake';
import { POLL_LEASE_PREFIX, PollingLoop, PollState, RoundLease } from './polling';

export interface CoupaPollingOptions {
  /** The source's API connection (finance-source: API base URL = the Coupa instance). */
  http: ErpHttp | undefined;
  /** The finance-source profile; must be "coupa". */
  profile: SourceProfile;
  resource: CoupaResource;
  store: () => FinanceStore;
  /** Names this intake's record in the store; the node id. */
  key: string;
  intervalMs: number;
  pageSize?: number;
  /** The first cursor, before any round saved one (RFC 3339). */
  updatedAfter?: string;
  maxBytes: number;
  /** The intake node's lease owner (leaseOwnerFor: node id and process), as its other transports use. */
  lease?: { owner: string; ms: number };
  /**
   * With a lease: the intake node's in-flight window (its InboxRecovery), as the webhook uses it. A document
   * committed while the window is full waits in the store and recovery emits it when a slot frees, so a
   * backlog in Coupa is buffered on disk, not emitted at once.
   */
  admission?: Admission;
  /**
   * Each document's intake result (accepted, duplicate, rejected, failed) with the bytes committed. An accepted
   * one that is `waiting` must not be emitted: recovery hands it out when its turn comes.
   */
  onResult: (result: IntakeResult, rawBody: Buffer) => void;
  onRound?: (report: CoupaPollReport) => void;
  /** A round skipped: another host (or process) on the shared store holds the polling lease. */
  onSkip?: () => void;
  onError?: (error: unknown) => void;
  /** Who holds the polling lease: unique per host and process; default runnerHolder() (host name and pid). */
  holder?: string;
  now?: () => number;
}

export interface CoupaPolling {
  stop(): Promise<void>;
}

/** Checks the configuration (throws CONFIG_INVALID naming what to fix) and starts the loop. */
export function startCoupaPolling(options: CoupaPollingOptions): CoupaPolling {
  const profile = coupaProfileOf(options.profile);
  if (options.http === undefined) {
    throw new FinanceError(
      'CONFIG_INVALID',
      'Polling needs the Coupa API: set the API base URL (the Coupa instance, e.g. https://acme.coupahost.com) and its authentication in the finance-source node.',
      { details: { field: 'source' } },
    );
  }
  const intake = new Intake({
    store: options.store,
    profile: options.resource === 'purchase_orders' ? purchaseOrderIntakeProfile(profile) : profile,
    signatureScheme: 'none',
    secrets: [],
    maxBytes: options.maxBytes,
    ...(options.lease && { lease: options.lease }),
    ...(options.admission && { admission: options.admission }),
  });
  const recordKey = `${options.key}:${options.resource}`;
  const state = new PollState(options.store, recordKey);
  // One host of several polls a node's resource at a time (see lib/intake/polling.ts). The TTL is the
  // SingleRunner rule, three intervals and at least 10 s, so the holder keeps the polling from round to round and
  // a dead holder is replaced within three intervals; a longer round renews it as it goes (RoundLease.keep).
  const lease = new RoundLease({
    store: options.store,
    name: `${POLL_LEASE_PREFIX}${recordKey}`,
    holder: options.holder ?? runnerHolder(),
    ttlMs: runnerTtlMs(options.intervalMs),
    ...(options.now && { now: options.now }),
    ...(options.onError && { onError: options.onError }),
  });
  const reported = new Set<string>();
  const poller = new CoupaPoller({
    http: options.http,
    resource: options.resource,
    state,
    ...(options.pageSize === undefined ? {} : { pageSize: options.pageSize }),
    ...(options.updatedAfter === undefined ? {} : { updatedAfter: options.updatedAfter }),
    mayContinue: () => lease.keep(),
    commit: async (document: CoupaDocument) => {
      const rawBody = Buffer.from(JSON.stringify(document), 'utf8');
      const result = await intake.receive({ rawBody, headers: {} });
      if (result.outcome === 'rejected') {
        // Reported once per revision; the poller leaves it unexported, so it comes back every round.
        const revision = `${String(document.id)}@${coupaContentDigest(document)}`;
        if (!reported.has(revision)) {
          reported.add(revision);
          options.onResult(result, rawBody);
        }
        throw result.error;
      }
      options.onResult(result, rawBody);
      if (result.outcome === 'failed') throw result.error;
    },
  });
  const loop = new PollingLoop({
    intervalMs: options.intervalMs,
    state,
    round: () => poller.poll(),
    mayRun: () => lease.claim(),
    ...(options.onRound && { onRound: options.onRound }),
    ...(options.onSkip && { onSkip: options.onSkip }),
    ...(options.onError && { onError: options.onError }),
    ...(options.now && { now: options.now }),
  });
  loop.start();
  return { stop: () => loop.stop() };
}

function coupaProfileOf(profile: SourceProfile): CoupaProfile {
  if (profile.name !== 'coupa') {
    throw new FinanceError(
      'CONFIG_INVALID',
      `Polling is the Coupa integration pattern (exported=false, then mark exported); the source's profile is "${profile.name}". Choose the Coupa profile in the finance-source node, or another mode.`,
      { details: { field: 'mode' } },
    );
  }
  return profile as CoupaProfile;
}

/** The Coupa profile reading purchase orders: their envelope is the PO's (id, Coupa version). */
function purchaseOrderIntakeProfile(profile: CoupaProfile): SourceProfile {
  return {
    ...profile,
    // The intake only stores the envelope's docType; finance-map reads the document itself.
    envelopeOf: (body: unknown) =>
      profile.purchaseOrderEnvelopeOf(body) as unknown as ReturnType<SourceProfile['envelopeOf']>,
  };
}
