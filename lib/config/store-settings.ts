/** Turns the `finance-store` dialog into store options, with the default location under the user directory. */
import * as path from 'node:path';
import { integerSetting, optionalText } from './settings';

export interface StoreDialogSettings {
  path?: string;
  maxInboxEntries?: string | number;
  dedupRetentionDays?: string | number;
}

export interface StoreOptions {
  path: string;
  maxInboxEntries: number;
  dedupRetentionMs: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;

export function storeOptions(settings: StoreDialogSettings, userDir: string): StoreOptions {
  const configured = optionalText(settings.path);
  return {
    // A relative path is taken from the Node-RED user directory, like the core file nodes' working directory.
    path: configured ? path.resolve(userDir, configured) : path.join(userDir, 'finance-sync', 'store'),
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
}
