/**
 * Delegation: while an approver is away, someone they named may decide in their place. A delegation covers
 * whole days, `validFrom` to `validTo` inclusive, in UTC (so every host agrees on the instant it starts and
 * ends). Authority goes one step only: a delegate's own delegate cannot decide for the original approver,
 * and nobody can be delegated the approval of their own report.
 */
import { FinanceError } from '../errors';
import type { Violation } from './matrix';
import { personKey, sameId } from './person-id';

export interface Delegation {
  /** Person id of the approver who is away. */
  from: string;
  /** Person id of the one who decides in their place. */
  to: string;
  /** First day, YYYY-MM-DD, included. */
  validFrom: string;
  /** Last day, YYYY-MM-DD, included. */
  validTo: string;
}

/** Who may decide a stage: the expected approver (no delegateOf) or a delegate of theirs. */
export type Authority = { allowed: true; delegateOf?: string } | { allowed: false; reason: string };

const DAY_MS = 24 * 60 * 60 * 1000;
/** How long before its receipt a delegate's decision may have been made for an ended delegation to still count. */
export const DELEGATION_RECEIPT_SKEW_MS = 5 * 60 * 1000;
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

export function validateDelegations(value: unknown): Violation[] {
  if (!Array.isArray(value))
    return [{ path: '', message: 'Delegations must be a list of { from, to, validFrom, validTo }.' }];
  const violations: Violation[] = [];
  value.forEach((item: unknown, index: number) => {
    const path = `[${index}]`;
    if (typeof item !== 'object' || item === null) {
      violations.push({ path, message: 'Each delegation must be an object with from, to, validFrom and validTo.' });
      return;
    }
    const delegation = item as Record<string, unknown>;
    for (const field of ['from', 'to'] as const) {
      if (typeof delegation[field] !== 'string' || delegation[field] === '') {
        violations.push({ path: `${path}.${field}`, message: `Give the person id in "${field}".` });
      }
    }
    if (
      typeof delegation.from === 'string' &&
      typeof delegation.to === 'string' &&
      sameId(delegation.from, delegation.to)
    ) {
      violations.push({ path: `${path}.to`, message: 'A person cannot delegate to themself.' });
    }
    const start = parseDay(delegation.validFrom);
    const end = parseDay(delegation.validTo);
    if (start === undefined) violations.push({ path: `${path}.validFrom`, message: dayProblem(delegation.validFrom) });
    if (end === undefined) violations.push({ path: `${path}.validTo`, message: dayProblem(delegation.validTo) });
    if (start !== undefined && end !== undefined && end < start) {
      violations.push({
        path: `${path}.validTo`,
        message: `validTo ${String(delegation.validTo)} is before validFrom ${String(delegation.validFrom)}.`,
      });
    }
  });
  return violations;
}

/** True when `at` falls on a day from validFrom to validTo, both included. */
export function isDelegationValidAt(delegation: Delegation, at: Date): boolean {
  const start = requireDay(delegation, 'validFrom');
  const end = requireDay(delegation, 'validTo') + DAY_MS;
  const instant = at.getTime();
  return instant >= start && instant < end;
}

/** The people who may decide for `approver` at `at`, for the approval request to notify as well. */
export function delegatesOf(
  approver: string,
  at: Date,
  delegations: readonly Delegation[],
  submitterId: string,
): string[] {
  const delegates = new Map<string, string>();
  for (const d of delegations) {
    if (!sameId(d.from, approver) || sameId(d.to, approver) || sameId(d.to, submitterId)) continue;
    if (isDelegationValidAt(d, at) && !delegates.has(personKey(d.to))) delegates.set(personKey(d.to), d.to);
  }
  return [...delegates.values()];
}

/**
 * Whether `decider` may decide a stage expected from `expected`: a decision made at `at` and received at
 * `receivedAt` (this host's clock). A delegate's delegation must be valid at both: `at` is what the decision
 * claims, and a claimed time alone would let a delegate whose delegation ended date their decision back into it.
 * DELEGATION_RECEIPT_SKEW_MS before `receivedAt` also counts, so a decision made just before midnight on the
 * delegation's last day and received just after still stands.
 */
export function authorityOf(
  expected: string,
  decider: string,
  at: Date,
  delegations: readonly Delegation[],
  submitterId: string,
  receivedAt: Date,
): Authority {
  if (sameId(decider, submitterId)) {
    return { allowed: false, reason: `${decider} submitted the report and cannot decide on it` };
  }
  if (sameId(decider, expected)) return { allowed: true };
  const holds = (instant: Date): boolean =>
    delegatesOf(expected, instant, delegations, submitterId).some((delegate) => sameId(delegate, decider));
  if (!holds(at)) {
    return {
      allowed: false,
      reason: `${decider} is not the expected approver ${expected} and holds no delegation from ${expected} valid at ${at.toISOString()}`,
    };
  }
  const received = receivedAt.getTime();
  if (!holds(receivedAt) && !holds(new Date(received - DELEGATION_RECEIPT_SKEW_MS))) {
    return {
      allowed: false,
      reason:
        `${decider} held a delegation from ${expected} at ${at.toISOString()}, the time the decision gives, but not ` +
        `when it was received (${receivedAt.toISOString()}): a delegation only counts while it is valid`,
    };
  }
  return { allowed: true, delegateOf: expected };
}

/** Milliseconds at 00:00 UTC of a real calendar day written YYYY-MM-DD, else undefined. */
function parseDay(value: unknown): number | undefined {
  const match = typeof value === 'string' ? ISO_DATE.exec(value) : null;
  if (!match) return undefined;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const ms = Date.UTC(year, month - 1, day);
  const date = new Date(ms);
  // Date.UTC rolls 2024-02-30 over to March; a day that does not round-trip does not exist.
  if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) return undefined;
  return ms;
}

function requireDay(delegation: Delegation, field: 'validFrom' | 'validTo'): number {
  const ms = parseDay(delegation[field]);
  if (ms === undefined) {
    throw new FinanceError(
      'CONFIG_INVALID',
      `Delegation from ${delegation.from} to ${delegation.to}: ${field} ${dayProblem(delegation[field])}`,
      { details: { from: delegation.from, to: delegation.to, field } },
    );
  }
  return ms;
}

function dayProblem(value: unknown): string {
  return `${JSON.stringify(value)} is not a date; write it as YYYY-MM-DD, e.g. "2025-03-31".`;
}
