/**
 * One value loaded from a slow source and kept in memory: older than the refresh interval it is still served
 * while a fresh one loads in the background, so callers wait on the source only when there is no value yet.
 * One load at a time; after a failed load the old value is served and the source is asked again after the
 * retry interval. (lib/approval/directory-cache.ts does the same for the approval directory, with a copy
 * kept in the store; this one is generic and memory-only.)
 */
export interface RefreshingCacheOptions<T> {
  load: () => Promise<T>;
  refreshMs: number;
  retryMs: number;
  /** Epoch milliseconds. */
  clock?: () => number;
  /** A background refresh failed; the old value stays in use. */
  onError?: (error: unknown) => void;
}

export class RefreshingCache<T> {
  readonly #options: RefreshingCacheOptions<T>;
  readonly #clock: () => number;
  #current?: { value: T; loadedAt: number };
  /** When the source may be asked again: refreshMs after a load, retryMs after a failure. */
  #nextLoadAt = 0;
  #loading?: Promise<T>;

  constructor(options: RefreshingCacheOptions<T>) {
    this.#options = options;
    this.#clock = options.clock ?? Date.now;
  }

  /** The value; waits only when there is none yet, and then fails with the load's error. */
  async get(): Promise<T> {
    if (this.#current === undefined) return this.refresh();
    if (this.#clock() >= this.#nextLoadAt) {
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
      throw error;
    }
    const now = this.#clock();
    this.#current = { value, loadedAt: now };
    this.#nextLoadAt = now + this.#options.refreshMs;
    return value;
  }
}
