/**
 * Who still uses a shared resource (the store of a finance-store node, the HTTP client of a finance-erp node).
 *
 * Node-RED closes every node of a deploy at the same moment, config nodes included. A config node that closed
 * its store or aborted its client at once would cut the work its flow nodes are still finishing in their own
 * close (a write given a few seconds to end, a failed write being parked for a retry). So each flow node takes a
 * handle when it starts and releases it at the end of its close, and the config node waits until every handle
 * is released, or a bound passes, before it tears the resource down.
 */
export interface UserHandle {
  /** Gives the handle back; calling it again does nothing. */
  release(): void;
}

export class UserHandles {
  #held = 0;
  #waiters = new Set<() => void>();

  /** Handles taken and not released yet. */
  get held(): number {
    return this.#held;
  }

  take(): UserHandle {
    this.#held += 1;
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        this.#held -= 1;
        if (this.#held === 0) for (const wake of [...this.#waiters]) wake();
      },
    };
  }

  /**
   * Resolves true once no handle is held (at once when none is), false when `maxWaitMs` passed first: a user
   * whose close hangs must not keep the resource open past Node-RED's close timeout.
   */
  released(maxWaitMs: number): Promise<boolean> {
    if (this.#held === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (all: boolean) => {
        clearTimeout(timer);
        this.#waiters.delete(wake);
        resolve(all);
      };
      const wake = () => done(true);
      const timer = setTimeout(() => done(false), maxWaitMs);
      this.#waiters.add(wake);
    });
  }
}
