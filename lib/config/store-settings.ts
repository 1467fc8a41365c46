/**
 * Turns the `finance-store` dialog into store options: LMDB in a folder (default under the user directory) for
 * one host, or a PostgreSQL database that several hosts share.
 */
import * as path from 'node:path';
import { FinanceError } from '../errors';
import type { OpenStoreOptions } from '../reliability/store';
import { integerSetting, optionalText } from './settings';

export interface StoreDialogSettings {
  /** `lmdb` (default) or `postgres`. */
  backend?: string;
  path?: string;
  maxInboxEntries?: string | number;
  dedupRetentionDays?: string | number;
  pgHost?: string;
  pgPort?: string | number;
  pgDatabase?: string;
  pgUser?: string;
  pgSchema?: string;
  pgTablePrefix?: string;
  pgSsl?: boolean | string;
  pgPoolSize?: string | number;
}

/** Kept in Node-RED's credential store, never in the flow. */
export interface StoreCredentials {
  pgPassword?: string;
}

export type StoreOptions = OpenStoreOptions & { maxInboxEntries: number; dedupRetentionMs: number };

const DAY_MS = 24 * 60 * 60 * 1000;
const IDENTIFIER = /^[a-z_][a-z0-9_]{0,39}$/;

export function storeOptions(
  settings: StoreDialogSettings,
  userDir: string,
  credentials: StoreCredentials = {},
): StoreOptions {
  const common = {
    maxInboxEntries: integerSetting(settings.maxInboxEntries, 'Inbox high-water mark', {
      min: 10,
      max: 100_000_000,
      fallback: 1_000_000,
    }),
    dedupRetentionMs:
      integerSetting(settings.dedupRetentionDays, 'Remember duplicates for (days)', {
        min: 1,
        max: 3650,
        fallback: 7,
      }) * DAY_MS,
  };
  const backend = optionalText(settings.backend) ?? 'lmdb';
  if (backend === 'postgres') return { ...common, backend, postgres: postgresSettings(settings, credentials) };
  if (backend !== 'lmdb') {
    throw new FinanceError('CONFIG_INVALID', `Store type "${backend}" is unknown; choose LMDB or PostgreSQL.`, {
      details: { field: 'backend' },
    });
  }
  const configured = optionalText(settings.path);
  return {
    ...common,
    backend,
    // A relative path is taken from the Node-RED user directory, like the core file nodes' working directory.
    path: configured ? path.resolve(userDir, configured) : path.join(userDir, 'finance-sync', 'store'),
  };
}

function postgresSettings(settings: StoreDialogSettings, credentials: StoreCredentials) {
  const schema = optionalText(settings.pgSchema) ?? 'finance_sync';
  const tablePrefix = optionalText(settings.pgTablePrefix) ?? '';
  for (const [field, value] of [
    ['Schema', schema],
    ['Table prefix', tablePrefix],
  ] as const) {
    if (value !== '' && !IDENTIFIER.test(value)) {
      throw new FinanceError(
        'CONFIG_INVALID',
        `${field} "${value}" must be lower-case letters, digits and _ (at most 40), starting with a letter or _.`,
        { details: { field } },
      );
    }
  }
  const password = optionalText(credentials.pgPassword);
  return {
    host: optionalText(settings.pgHost) ?? '127.0.0.1',
    port: integerSetting(settings.pgPort, 'PostgreSQL port', { min: 1, max: 65535, fallback: 5432 }),
    database: optionalText(settings.pgDatabase) ?? 'postgres',
    user: optionalText(settings.pgUser) ?? 'postgres',
    ...(password ? { password } : {}),
    ssl: settings.pgSsl === true || settings.pgSsl === 'true',
    poolSize: integerSetting(settings.pgPoolSize, 'Connections', { min: 1, max: 100, fallback: 10 }),
    schema,
    tablePrefix,
  };
}

/** Where the store is, for the log: never the password. */
export function describeStore(options: StoreOptions): string {
  if (options.backend !== 'postgres') return `LMDB at ${options.path}`;
  const pg = options.postgres ?? {};
  return `PostgreSQL ${pg.user}@${pg.host}:${pg.port}/${pg.database} schema ${pg.schema}${
    pg.tablePrefix ? ` tables ${pg.tablePrefix}*` : ''
  }`;
}
