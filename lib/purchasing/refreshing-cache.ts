/**
 * One value loaded from a slow source and kept in memory: older than the refresh interval it is still served
 * while a fresh one loads in the background, so callers wait on the source only when there is no value yet.
 * One load at a time; after a failed load the old value is served and the source is asked again after the
 * retry interval. (lib/approval/directory-cache.ts does the same for the approval directory, with a copy
 * kept in the store; this one is generic and memory-only.)
 *
 * With `maxAgeMs`, a value older than that is not served: a caller then waits for the load as if there were no
 * value, and when it fails gets `tooOld`'s error, which says how old the value is (a copy weeks old would be
 * used without anyone noticing). Within retryMs of a failure the error comes at once, without asking the source.
 */
export interface RefreshingCacheOptions<T> {
  load: () => Promise<T>;
  refreshMs: number;
  retryMs: number;
  /** Epoch milliseconds. */
  clock?: () => number;
  /** A background refresh failed; the old value stays in use. */
  onError?: (error: unknown) => void;
  /** A value older than this (from when it was loaded) is not served; 0 or absent: no limit. */
  maxAgeMs?: number;
  /** The error a caller gets instead of a value over maxAgeMs while the source fails. Default: the load's error. */
  tooOld?: (stale: StaleValue) => Error;
}

/** What a refusal of a value over its age limit can tell. */
export interface StaleValue {
  /** Epoch milliseconds of the load, and the value's age. */
  loadedAt: number;
  ageMs: number;
  maxAgeMs: number;
  /** Since when (epoch ms) the loads have failed, and the last failure. */
  failingSince: number;
  lastError: unknown;
}

export class RefreshingCache<T> {
  readonly #options: RefreshingCacheOptions<T>;
  readonly #clock: () => number;
  #current?: { value: T; loadedAt: number };
  /** When the source may be asked again: refreshMs after a load, retryMs after a failure. */
  #nextLoadAt = 0;
  /** Since when the loads have failed, and the last failure; none after a successful load. */
  #failing?: { since: number; error: unknown };
  #loading?: Promise<T>;

  constructor(options: RefreshingCacheOptions<T>) {
    this.#options = options;
    this.#clock = options.clock ?? Date.now;
  }

  /** The value; waits only when there is none young enough to use, and then fails with the load's error. */
  async get(): Promise<T> {
    if (this.#current === undefined) return this.refresh();
    const due = this.#clock() >= this.#nextLoadAt;
    if (this.#tooOld()) {
      // The source failed less than retryMs ago: refuse now instead of asking it for every caller.
      if (this.#failing !== undefined && !due) throw this.#tooOldError();
      return this.refresh();
    }
    if (due) {
      this.refresh().catch((error: unknown) => this.#options.onError?.(error));
    }
    return this.#current.value;
  }

  /** Loads now, or joins the load in progress. */
  refresh(): Promise<T> {
    this.#loading ??= this.#load().finally(() => {
      this.#loading = undefined;
    });
    return this.#loading;
  }

  /** How old the value in use is, in ms; undefined before the first load. */
  ageMs(): number | undefined {
    return this.#current === undefined ? undefined : this.#clock() - this.#current.loadedAt;
  }

  async #load(): Promise<T> {
    let value: T;
    try {
      value = await this.#options.load();
    } catch (error) {
      // Without a value every caller waits anyway, so the next one may ask the source at once.
      this.#nextLoadAt = this.#current === undefined ? 0 : this.#clock() + this.#options.retryMs;
      this.#failing = { since: this.#failing?.since ?? this.#clock(), error };
      throw this.#tooOld() ? this.#tooOldError() : error;
    }
    this.#failing = undefined;
    const now = this.#clock();
    this.#current = { value, loadedAt: now };
    this.#nextLoadAt = now + this.#options.refreshMs;
    return value;
  }

  /** Over the age limit (false without a value or a limit). */
  #tooOld(): boolean {
    const maxAgeMs = this.#options.maxAgeMs ?? 0;
    return this.#current !== undefined && maxAgeMs > 0 && this.#clock() - this.#current.loadedAt > maxAgeMs;
  }

  #tooOldError(): Error {
    const failing = this.#failing as { since: number; error: unknown };
    if (this.#options.tooOld === undefined) return failing.error as Error;
    const loadedAt = (this.#current as { loadedAt: number }).loadedAt;
    return this.#options.tooOld({
      loadedAt,
      ageMs: this.#clock() - loadedAt,
      maxAgeMs: this.#options.maxAgeMs ?? 0,
      failingSince: failing.since,
      lastError: failing.error,
    });
  }
}
