/** Shared set-up for the dead-letter tests: a real store in a temporary folder, a clock the test moves. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Clock } from '../../../lib/erp/clock';
import { openStore, type FinanceStore } from '../../../lib/reliability/store';

export const START = Date.parse('2025-03-01T09:00:00.000Z');

export interface TestClock {
  now: () => number;
  advance(ms: number): void;
}

export function manualTime(start = START): TestClock {
  let time = start;
  return {
    now: () => time,
    advance: (ms) => {
      time += ms;
    },
  };
}

/** A store per test in one temporary folder; `cleanup()` closes them all and removes the folder. */
export function storeFolder(name: string) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), `finance-dlq-${name}-`));
  const opened: FinanceStore[] = [];
  let counter = 0;
  return {
    newPath: () => path.join(root, `db-${++counter}`),
    open(storePath: string, now: () => number): FinanceStore {
      const store = openStore({ path: storePath, now });
      opened.push(store);
      return store;
    },
    async cleanup(): Promise<void> {
      await Promise.all(opened.map((store) => store.close()));
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}

/** Timers that fire only when the test moves the clock (for the replay queue's rate limiter). */
export class FakeTimers implements Clock {
  #time = 0;
  #timers: { at: number; callback: () => void; handle: number }[] = [];
  #next = 1;

  now(): number {
    return this.#time;
  }

  setTimeout(callback: () => void, ms: number): unknown {
    const handle = this.#next++;
    this.#timers.push({ at: this.#time + ms, callback, handle });
    return handle;
  }

  clearTimeout(handle: unknown): void {
    this.#timers = this.#timers.filter((timer) => timer.handle !== handle);
  }

  get timers(): number {
    return this.#timers.length;
  }

  /** Moves time forward, firing the timers that fall due on the way in order. */
  advance(ms: number): void {
    const end = this.#time + ms;
    for (;;) {
      const due = this.#timers.filter((timer) => timer.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.#timers = this.#timers.filter((timer) => timer !== due);
      this.#time = due.at;
      due.callback();
    }
    this.#time = end;
  }
}

/** What a Catch node delivers when `nodeId` failed on `msg` with a FinanceError of `code`. */
export function catchMessage(options: {
  msgId?: string;
  nodeId?: string;
  code?: string;
  message?: string;
  eventId?: string;
  docId?: string;
  docType?: string;
  source?: string;
  attempt?: number;
  extra?: Record<string, unknown>;
}): Record<string, unknown> {
  return {
    _msgid: options.msgId ?? 'msg-1',
    topic: 'expense',
    payload: { id: options.docId ?? 'ER-1', total: { amount: '120.50', currency: 'EUR' } },
    finance: {
      id: options.eventId ?? 'evt-1',
      source: options.source ?? 'https://concur.example.com',
      type: 'expense.submitted',
      time: '2025-03-01T08:59:00Z',
      correlationId: `corr-${options.eventId ?? 'evt-1'}`,
      docType: options.docType ?? 'expenseReport',
      docId: options.docId ?? 'ER-1',
      attempt: options.attempt ?? 1,
    },
    error: {
      message: `FinanceError: ${options.message ?? 'The ERP refused the posting.'}`,
      source: { id: options.nodeId ?? 'post-node', type: 'finance-post', name: 'post expense', count: 1 },
      ...(options.code === undefined ? {} : { code: options.code }),
    },
    ...options.extra,
  };
}
