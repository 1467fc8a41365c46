/** Shared set-up for the store tests: a temporary directory per test file and a clock the test moves. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openStore, type FinanceStore, type OpenStoreOptions } from '../../../lib/reliability/store';

export interface Clock {
  now: () => number;
  advance(ms: number): void;
}

export function manualClock(start = 1_700_000_000_000): Clock {
  let time = start;
  return {
    now: () => time,
    advance: (ms) => {
      time += ms;
    },
  };
}

/** Temporary store directories under os.tmpdir(); `cleanup()` closes every store opened and removes them. */
export function storeSandbox(name: string) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), `finance-store-${name}-`));
  const opened: FinanceStore[] = [];
  let counter = 0;
  return {
    root,
    newPath: () => path.join(root, `db-${++counter}`),
    open(options: OpenStoreOptions): FinanceStore {
      const store = openStore(options);
      opened.push(store);
      return store;
    },
    async cleanup(): Promise<void> {
      await Promise.all(opened.map((store) => store.close()));
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}
