/**
 * Runs tasks one after the other per key, and tasks of different keys side by side: a promise chain per key.
 * The purchase-order node queues every message of one document behind the previous one, so reading the last
 * applied version, writing to the ERP and recording the new version happen as one step per document even
 * when two versions arrive at the same moment. A key's chain is forgotten once it runs empty, so memory
 * holds only the documents in progress.
 */
export class KeyedQueue {
  readonly #tails = new Map<string, Promise<void>>();

  /** Runs `task` after every task queued earlier under `key` has settled; answers what `task` answers. */
  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    const result = previous.then(task);
    // The chain continues whatever the task's outcome; the caller sees its failure through `result`.
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.#tails.set(key, tail);
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return result;
  }

  /** How many keys have tasks queued or running. */
  get size(): number {
    return this.#tails.size;
  }
}
