/**
 * The finance-purchase-order dialog, read once at deploy: a wrong value is reported by name instead of
 * failing on the first document. A message never overrides these.
 */
import { integerSetting } from '../config/settings';

export interface PurchaseOrderDialogSettings {
  validateMasterData?: unknown;
  masterDataRefreshMinutes?: unknown;
  masterDataMaxAgeHours?: unknown;
  writebackFollows?: unknown;
}

export interface PurchaseOrderSettings {
  /** Check supplier, tax codes and account assignments against the ERP's master data before writing. */
  validateMasterData: boolean;
  /** How long the cached master data is used before it is loaded again. */
  masterDataRefreshMs: number;
  /** How old a last copy may be and still be validated against while the ERP is down; 0: no limit. */
  masterDataMaxAgeMs: number;
  /**
   * A finance-writeback follows the synced output and records the event's final outcome, so this node leaves
   * a synced event open: if the write-back fails, the event is not finished and recovery runs it again.
   * Refusals are finished here either way.
   */
  writebackFollows: boolean;
}

export const DEFAULT_MASTER_DATA_REFRESH_MINUTES = 15;
/** A long weekend without the ERP; beyond it a copy may pass a supplier blocked since. */
export const DEFAULT_MASTER_DATA_MAX_AGE_HOURS = 72;

export function purchaseOrderSettings(dialog: PurchaseOrderDialogSettings): PurchaseOrderSettings {
  // Safe by default: only an explicit "false" from the dialog turns validation off.
  const validateMasterData = dialog.validateMasterData !== false && dialog.validateMasterData !== 'false';
  // The refresh and age rows are hidden without validation, and a value nobody sees must not fail deploy.
  const minutes = validateMasterData
    ? integerSetting(dialog.masterDataRefreshMinutes, 'Master data refresh (minutes)', {
        min: 1,
        max: 1440,
        fallback: DEFAULT_MASTER_DATA_REFRESH_MINUTES,
      })
    : DEFAULT_MASTER_DATA_REFRESH_MINUTES;
  const maxAgeHours = validateMasterData
    ? integerSetting(dialog.masterDataMaxAgeHours, 'Master data: use a copy for at most (hours)', {
        min: 0,
        max: 8760,
        fallback: DEFAULT_MASTER_DATA_MAX_AGE_HOURS,
      })
    : DEFAULT_MASTER_DATA_MAX_AGE_HOURS;
  return {
    validateMasterData,
    masterDataRefreshMs: minutes * 60_000,
    masterDataMaxAgeMs: maxAgeHours * 3_600_000,
    writebackFollows: dialog.writebackFollows === true || dialog.writebackFollows === 'true',
  };
}
