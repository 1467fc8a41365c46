/**
 * Turns the finance-approval dialog into what the workflow runs with. Every mistake in the matrix and the
 * delegations is reported at deploy, all at once, so the analyst fixes them in one pass.
 */
import { integerSetting } from '../config/settings';
import { FinanceError } from '../errors';
import { validateDelegations, type Delegation } from './delegation';
import { compileMatrix, validateMatrix, type CompiledMatrix, type Violation } from './matrix';

export interface ApprovalDialogSettings {
  /** The approval matrix (ApprovalMatrix), as the dialog stores it: an object, or the same as JSON text. */
  matrix?: unknown;
  /** Delegation[], or the same as JSON text. */
  delegations?: unknown;
  directoryRefreshMinutes?: string | number;
  directoryMaxAgeHours?: string | number;
  slaCheckSeconds?: string | number;
  /** The dialog's checkbox: true, or "true" in a flow edited by hand. */
  writebackFollows?: unknown;
}

export interface ApprovalSettings {
  matrix: CompiledMatrix;
  delegations: Delegation[];
  directoryRefreshMs: number;
  /** How old a last copy of the directory may be and still be routed with while the ERP is down; 0: no limit. */
  directoryMaxAgeMs: number;
  slaCheckMs: number;
  /** A write-back after the rejected output ends rejected and returned events (see ApprovalWorkflowOptions). */
  writebackFollows: boolean;
}

export const DEFAULT_DIRECTORY_REFRESH_MINUTES = 15;
/** A long weekend without the ERP; beyond it a copy may route to people who left or lost their approval limit. */
export const DEFAULT_DIRECTORY_MAX_AGE_HOURS = 72;
export const DEFAULT_SLA_CHECK_SECONDS = 60;

/** Throws CONFIG_INVALID with every violation in details.violations (paths like "matrix.rules[1].maxAmount"). */
export function approvalSettings(settings: ApprovalDialogSettings): ApprovalSettings {
  const matrix = parsed(settings.matrix, 'matrix');
  const delegations =
    settings.delegations === undefined || settings.delegations === ''
      ? { value: [] }
      : parsed(settings.delegations, 'delegations');
  const violations: Violation[] = [
    ...prefixed('matrix', matrix.violations ?? validateMatrix(matrix.value)),
    ...prefixed('delegations', delegations.violations ?? validateDelegations(delegations.value)),
  ];
  if (violations.length > 0) {
    throw new FinanceError(
      'CONFIG_INVALID',
      `The approval settings are invalid: ${violations.map((v) => `${v.path}: ${v.message}`).join(' ')} Fix them in the node's dialog.`,
      { details: { violations } },
    );
  }
  return {
    matrix: compileMatrix(matrix.value),
    delegations: delegations.value as Delegation[],
    directoryRefreshMs:
      integerSetting(settings.directoryRefreshMinutes, 'Refresh the directory every (minutes)', {
        min: 1,
        max: 1440,
        fallback: DEFAULT_DIRECTORY_REFRESH_MINUTES,
      }) * 60_000,
    directoryMaxAgeMs:
      integerSetting(settings.directoryMaxAgeHours, 'Use a directory copy for at most (hours)', {
        min: 0,
        max: 8760,
        fallback: DEFAULT_DIRECTORY_MAX_AGE_HOURS,
      }) * 3_600_000,
    slaCheckMs:
      integerSetting(settings.slaCheckSeconds, 'Check SLAs every (seconds)', {
        min: 1,
        max: 3600,
        fallback: DEFAULT_SLA_CHECK_SECONDS,
      }) * 1000,
    writebackFollows: settings.writebackFollows === true || settings.writebackFollows === 'true',
  };
}

function parsed(value: unknown, field: string): { value: unknown; violations?: Violation[] } {
  if (typeof value !== 'string') return { value };
  try {
    return { value: JSON.parse(value) };
  } catch {
    return { value, violations: [{ path: '', message: `The ${field} text is not valid JSON.` }] };
  }
}

function prefixed(prefix: string, violations: Violation[]): Violation[] {
  return violations.map((violation) => ({
    path:
      violation.path === ''
        ? prefix
        : violation.path.startsWith('[')
          ? `${prefix}${violation.path}`
          : `${prefix}.${violation.path}`,
    message: violation.message,
  }));
}
