/**
 * Approval-state normalisation for mappings whose output still carries the source's own status code (a
 * JSONata mapping that copies Concur's "A_PEND", a CloudEvents sender that forwards Coupa's "pending_info"):
 * the code is looked up in lib/model/states.ts for the configured source system. Built-in profiles that
 * read a vendor document already produce canonical states, which pass through unchanged.
 */
import { isFinanceError } from '../errors';
import { normaliseApprovalState, type StateSystem } from '../model/states';
import { APPROVAL_STATES } from '../model/types';
import type { Violation } from '../model/violations';

export type StateNormalisation = { document: Record<string, unknown> } | { violation: Violation };

function isCanonicalState(value: unknown): boolean {
  return typeof value === 'string' && (APPROVAL_STATES as readonly string[]).includes(value);
}

/**
 * The document with its `state` in canonical form. Never changes the object it is given: that may be the
 * message's original payload, which the invalid output must carry untouched.
 */
export function normaliseDocumentState(
  document: Record<string, unknown>,
  system: StateSystem | undefined,
): StateNormalisation {
  const code = document.state;
  if (system === undefined || typeof code !== 'string' || isCanonicalState(code)) return { document };
  try {
    return { document: { ...document, state: normaliseApprovalState(system, code) } };
  } catch (error) {
    if (!isFinanceError(error) || error.code !== 'SCHEMA_INVALID') throw error;
    return { violation: { path: '/state', rule: 'state', message: error.message } };
  }
}
