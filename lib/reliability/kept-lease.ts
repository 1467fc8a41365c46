/**
 * A named lease (FinanceStore.claimLease) kept while some work runs, then given back: the pattern of every
 * "one host at a time" step whose work may take longer than it should (a write held up in a rate limit's queue,
 * a slow store). The caller claims the lease first, in its own way (once, or waiting for it).
 *
 * The lease is claimed again every `renewEveryMs` (a third of its TTL by default: two renewals may fail or come
 * late before it lapses under live work). A renewal never fails the work: a store error is reported and the
 * next renewal tries again; a lease another holder has taken meanwhile is reported and left to them (the work
 * is on its way and cannot be called back). The store has no release for a named lease: shortening this
 * holder's own lease to 1 ms gives it back (one another holder has by now is left alone); should that fail, the
 * lease lapses after its TTL.
 */
import type { FinanceStore } from './store';

export interface KeptLeaseOptions {
  store: Pick<FinanceStore, 'claimLease'>;
  name: string;
  holder: string;
  ttlMs: number;
  /** Default: a third of ttlMs. */
  renewEveryMs?: number;
  /** Another holder took the lease while the work ran (it ran longer than the TTL). */
  onLost: () => void;
  /** A renewal could not reach the store; the next one tries again. */
  onRenewalFailed: (error: unknown) => void;
}

/** Runs `work` keeping the lease this holder has just claimed, and gives it back afterwards. */
export async function whileKeepingLease<T>(options: KeptLeaseOptions, work: () => Promise<T>): Promise<T> {
  const renewal = keepRenewing(options);
  try {
    return await work();
  } finally {
    await renewal.stop();
    await options.store.claimLease(options.name, options.holder, 1).catch(() => undefined);
  }
}

/** stop() waits for a renewal in flight, so the release that follows is not undone by a renewal landing after it. */
function keepRenewing(options: KeptLeaseOptions): { stop: () => Promise<void> } {
  const { store, name, holder, ttlMs } = options;
  let inFlight: Promise<void> | undefined;
  const renew = async (): Promise<void> => {
    try {
      if (await store.claimLease(name, holder, ttlMs)) return;
      clearInterval(timer);
      options.onLost();
    } catch (error) {
      options.onRenewalFailed(error);
    }
  };
  const timer = setInterval(
    () => {
      inFlight ??= renew().finally(() => (inFlight = undefined));
    },
    options.renewEveryMs ?? Math.max(1, Math.floor(ttlMs / 3)),
  );
  // The timer must not keep Node-RED from exiting; the work it serves has its own timeouts.
  timer.unref();
  return {
    stop: async () => {
      clearInterval(timer);
      await inFlight;
    },
  };
}
