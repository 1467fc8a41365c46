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
import type { CoupaProfile } from '../sources/profiles/coupa';
import type { SourceProfile } from '../sources/profiles/profile';
import { Intake, type Admission, type IntakeResult } from './intake';
import { PollingLoop, PollState } from './polling';

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
  onError?: (error: unknown) => void;
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
  const state = new PollState(options.store, `${options.key}:${options.resource}`);
  const reported = new Set<string>();
  const poller = new CoupaPoller({
    http: options.http,
    resource: options.resource,
    state,
    ...(options.pageSize === undefined ? {} : { pageSize: options.pageSize }),
    ...(options.updatedAfter === undefined ? {} : { updatedAfter: options.updatedAfter }),
    commit: async (document: CoupaDocument) => {
      const rawBody = Buffer.from(JSON.stringify(document), 'utf8');
      const result = await intake.receive({ rawBody, headers: {} });
      if (result.outcome === 'rejected') {
        // Reported once per revision; the poller leaves it unexported, so it comes back every round.
        const revision = `${String(document.id)}@${String(document['updated-at'])}`;
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
    ...(options.onRound && { onRound: options.onRound }),
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
