/**
 * The finance-post dialog, read once at deploy: a wrong value is reported by name instead of failing on the
 * first document. The dialog decides the posting kind; a message never overrides it.
 */
import { FinanceError } from '../errors';
import { POSTING_DATE_RULES, POSTING_KINDS } from './expense-posting';
import type { PostExpenseSettings } from './post-expense';

export interface PostDialogSettings {
  kind?: unknown;
  postingDate?: unknown;
  requireApproval?: unknown;
}

export function postSettings(dialog: PostDialogSettings): PostExpenseSettings {
  return {
    kind: oneOf(dialog.kind ?? 'journal', POSTING_KINDS, 'Posting kind'),
    postingDate: oneOf(dialog.postingDate ?? 'document', POSTING_DATE_RULES, 'Posting date'),
    // Safe by default: only an explicit "false" from the dialog turns the requirement off.
    requireApproval: dialog.requireApproval !== false && dialog.requireApproval !== 'false',
  };
}

function oneOf<T extends string>(value: unknown, allowed: readonly T[], field: string): T {
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  throw new FinanceError(
    'CONFIG_INVALID',
    `${field} "${String(value)}" is not one of ${allowed.join(', ')}; choose one in the node's dialog.`,
    { details: { field } },
  );
}
