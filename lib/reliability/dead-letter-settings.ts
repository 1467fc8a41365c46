/** Turns the `finance-dead-letter` dialog into settings, checked once at deploy. */
import { integerSetting } from '../config/settings';
import type { RetentionLimits } from './dead-letters';

export interface DeadLetterDialogSettings {
  maxAgeDays?: string | number;
  maxEntries?: string | number;
  ratePerSecond?: string | number;
}

export interface DeadLetterSettings {
  retention: RetentionLimits;
  ratePerSecond: number;
}

export function deadLetterSettings(settings: DeadLetterDialogSettings): DeadLetterSettings {
  return {
    retention: {
      maxAgeDays: integerSetting(settings.maxAgeDays, 'Keep letters for (days)', { min: 1, max: 3650, fallback: 30 }),
      maxEntries: integerSetting(settings.maxEntries, 'Keep at most (letters)', {
        min: 1,
        max: 10_000_000,
        fallback: 100_000,
      }),
    },
    ratePerSecond: integerSetting(settings.ratePerSecond, 'Replay rate (messages per second)', {
      min: 1,
      max: 1000,
      fallback: 10,
    }),
  };
}
