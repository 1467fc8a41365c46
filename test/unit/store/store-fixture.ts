/**
 * Shared set-up for the store tests: a clock the test moves, and a sandbox per test file that opens stores of
 * either backend. The contract tests run once per backend (`describe.each(BACKENDS)`):
 *  - lmdb: a temporary directory per store under os.tmpdir();
 *  - postgres: a schema per store, unique to this run, in the `test` database on 127.0.0.1:5432 (trust auth,
 *    user postgres); cleanup() drops the schemas. FINANCE_TEST_PG_URL points the tests at another server.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { openStore, type FinanceStore, type OpenStoreOptions } from '../../../lib/reliability/store';

export type Backend = 'lmdb' | 'postgres';
export const BACKENDS: Backend[] = ['lmdb', 'postgres'];

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

export const TEST_PG = {
  host: '127.0.0.1',
  port: 5432,
  user: 'postgres',
  database: 'test',
};

/** Options without a location; `newPath()` gives each store its own. */
export type SandboxOptions = Omit<OpenStoreOptions, 'backend' | 'path' | 'postgres'> & { path: string };

/**
 * Stores for one test file. `newPath()` names a new, empty store: a directory for LMDB, a schema for
 * PostgreSQL; opening the same name twice reaches the same data (as two hosts would). `cleanup()` closes
 * every store opened and removes what they wrote.
 */
export function storeSandbox(name: string, backend: Backend = 'lmdb') {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), `finance-store-${name}-`));
  const run = `t${process.pid}_${Date.now().toString(36)}_${name.replace(/[^a-z0-9]/gi, '').toLowerCase()}`.slice(
    0,
    30,
  );
  const schemas = new Set<string>();
  const opened: FinanceStore[] = [];
  let counter = 0;
  return {
    root,
    backend,
    newPath: () => path.join(root, `db-${++counter}`),
    /** The options that open the store named `location` (from newPath()). */
    optionsFor(options: SandboxOptions): OpenStoreOptions {
      if (backend === 'lmdb') return options;
      const schema = `${run}_${path.basename(options.path).replace(/[^a-z0-9]/gi, '_')}`.toLowerCase();
      schemas.add(schema);
      return { ...options, path: undefined, backend: 'postgres', postgres: { ...TEST_PG, schema, poolSize: 4 } };
    },
    open(options: SandboxOptions): FinanceStore {
      const store = openStore(this.optionsFor(options));
      opened.push(store);
      return store;
    },
    async cleanup(): Promise<void> {
      await Promise.all(opened.map((store) => store.close()));
      fs.rmSync(root, { recursive: true, force: true });
      if (schemas.size > 0) await dropSchemas([...schemas]);
    },
  };
}

export async function dropSchemas(schemas: string[]): Promise<void> {
  const client = new Client(TEST_PG);
  await client.connect();
  try {
    for (const schema of schemas) await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}
