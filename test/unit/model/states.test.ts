import * as path from 'node:path';
import { SPECS_DIR } from '../../support/shared';
import { readFileSync } from 'node:fs';
import { FinanceError } from '../../../lib/errors';
import {
  ALLOWED_TRANSITIONS,
  APPROVAL_STATE_TABLES,
  BUSINESS_CENTRAL_APPROVAL_STATES,
  CONCUR_APPROVAL_STATES,
  CONCUR_PAYMENT_STATES,
  canTransition,
  isFinalState,
  normaliseApprovalState,
  normalisePaymentState,
  type StateSystem,
} from '../../../lib/model/states';
import { APPROVAL_STATES, type ApprovalState } from '../../../lib/model/types';

const CONCUR_SPECS = path.join(SPECS_DIR, 'concur');
const eventsSpec = readFileSync(`${CONCUR_SPECS}/v4.expense-events.md`, 'utf8');
const reportsSwagger = readFileSync(`${CONCUR_SPECS}/concur-v3.0-Reports.swagger.json`, 'utf8');
const codesIn = (text: string, prefix: 'A' | 'P') =>
  [...new Set(text.match(new RegExp(`\\b${prefix}_[A-Z]{4}\\b`, 'g')))].sort();

function thrown(fn: () => unknown): FinanceError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(FinanceError);
    return error as FinanceError;
  }
  throw new Error('expected a FinanceError');
}

describe('Concur', () => {
  test('every approval status code in the v4 expense events spec maps', () => {
    const codes = codesIn(eventsSpec, 'A');
    expect(codes).toEqual(['A_ACCO', 'A_APPR', 'A_EXTV', 'A_NOTF', 'A_PBDG', 'A_PECO', 'A_PEND', 'A_RESU']);
    for (const code of codes) expect(APPROVAL_STATES).toContain(normaliseApprovalState('concur', code));
  });

  test('every standard approval status code of the v3.0 reports API maps, and nothing else is in the table', () => {
    const codes = codesIn(reportsSwagger, 'A');
    expect(codes.length).toBeGreaterThanOrEqual(13);
    expect(Object.keys(CONCUR_APPROVAL_STATES).sort()).toEqual(codes);
  });

  test.each<[string, ApprovalState]>([
    ['A_NOTF', 'draft'],
    ['A_PEND', 'pending_approval'],
    ['A_FILE', 'pending_approval'],
    ['A_PBDG', 'pending_approval'],
    ['A_PECO', 'pending_approval'],
    ['A_EXTV', 'pending_approval'],
    ['A_APPR', 'approved'],
    ['A_ACCO', 'pending_approval'],
    ['A_RESU', 'returned'],
  ])('%s -> %s', (code, state) => {
    expect(normaliseApprovalState('concur', code)).toBe(state);
  });

  test('the status changes in the spec samples are allowed transitions', () => {
    const pairs = [
      ...eventsSpec.matchAll(/"currentApprovalStatus": "(A_\w+)"[\s\S]*?"previousApprovalStatus": "(A_\w+)"/g),
    ];
    expect(pairs.length).toBe(3);
    for (const [, current, previous] of pairs) {
      const from = normaliseApprovalState('concur', previous);
      const to = normaliseApprovalState('concur', current);
      expect({ from, to, allowed: canTransition(from, to) }).toEqual({ from, to, allowed: true });
    }
  });

  test('payment codes: paid and confirmed mean paid, the others mean not yet', () => {
    const codes = [...new Set([...codesIn(eventsSpec, 'P'), ...codesIn(reportsSwagger, 'P')])].sort();
    expect(Object.keys(CONCUR_PAYMENT_STATES).sort()).toEqual(codes);
    expect(normalisePaymentState('concur', 'P_PAID')).toBe('paid');
    expect(normalisePaymentState('concur', 'P_PAYC')).toBe('paid');
    for (const code of ['P_NOTP', 'P_PROC', 'P_HOLD']) expect(normalisePaymentState('concur', code)).toBeUndefined();
  });

  test('an unknown payment code or system is an error', () => {
    const error = thrown(() => normalisePaymentState('concur', 'P_XXXX'));
    expect(error.code).toBe('SCHEMA_INVALID');
    expect(error.message).toContain('P_PAID');
    expect(thrown(() => normalisePaymentState('coupa' as 'concur', 'paid')).code).toBe('CONFIG_INVALID');
  });
});

describe('unknown codes', () => {
  test('an unknown code is SCHEMA_INVALID and the message lists the known codes', () => {
    const error = thrown(() => normaliseApprovalState('concur', 'A_WHAT'));
    expect(error.code).toBe('SCHEMA_INVALID');
    expect(error.message).toMatch(
      /^SAP Concur approval status "A_WHAT" is not known\. Known codes: A_NOTF, .*A_RESU\./,
    );
    expect(error.details).toMatchObject({ system: 'SAP Concur', code: 'A_WHAT' });
    expect(error.details?.knownCodes).toEqual(Object.keys(CONCUR_APPROVAL_STATES));
  });

  test('codes that are names of Object.prototype members do not resolve', () => {
    for (const code of ['constructor', '__proto__', 'toString', 'hasOwnProperty', '']) {
      expect(thrown(() => normaliseApprovalState('coupa', code)).code).toBe('SCHEMA_INVALID');
    }
  });

  test('a code that is not a string is refused, not crashed on', () => {
    expect(thrown(() => normaliseApprovalState('concur', 3 as unknown as string)).code).toBe('SCHEMA_INVALID');
    expect(thrown(() => normaliseApprovalState('concur', undefined as unknown as string)).code).toBe('SCHEMA_INVALID');
  });

  test('an unknown system is a configuration error', () => {
    const error = thrown(() => normaliseApprovalState('netsuite' as StateSystem, 'Approved'));
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toContain('concur, coupa, oracle, businessCentral, erpnext, ramp');
  });
});

describe('other systems', () => {
  test('every code of every table maps to its canonical state (no two spellings collide)', () => {
    for (const [system, table] of Object.entries(APPROVAL_STATE_TABLES) as Array<
      [StateSystem, Record<string, ApprovalState>]
    >) {
      for (const [code, state] of Object.entries(table)) {
        expect(APPROVAL_STATES).toContain(state);
        expect({ system, code, state: normaliseApprovalState(system, code) }).toEqual({ system, code, state });
      }
    }
  });

  test.each<[StateSystem, string, ApprovalState]>([
    ['coupa', 'draft', 'draft'],
    ['coupa', 'pending_approval', 'pending_approval'],
    ['coupa', 'Pending Approval', 'pending_approval'],
    ['coupa', 'pending_buyer_action', 'pending_approval'],
    ['coupa', 'ordered', 'approved'],
    ['coupa', 'approved_for_payment', 'approved'],
    ['coupa', 'withdrawn', 'returned'],
    ['coupa', 'rejected', 'rejected'],
    ['coupa', 'cancelled', 'cancelled'],
    ['coupa', 'paid', 'paid'],
    ['oracle', 'INCOMPLETE', 'draft'],
    ['oracle', 'PENDING APPROVAL', 'pending_approval'],
    ['oracle', 'Pending approval', 'pending_approval'],
    ['oracle', 'PENDING_APPROVAL', 'pending_approval'],
    ['oracle', 'RETURNED', 'returned'],
    ['oracle', 'CANCELED', 'cancelled'],
    ['businessCentral', 'Draft', 'draft'],
    ['businessCentral', 'In_x0020_Review', 'pending_approval'],
    ['businessCentral', 'In Review', 'pending_approval'],
    ['businessCentral', 'Open', 'approved'],
    ['erpnext', '0', 'draft'],
    ['erpnext', '1', 'approved'],
    ['erpnext', '2', 'cancelled'],
    ['erpnext', 'To Receive and Bill', 'approved'],
    ['erpnext', 'Completed', 'posted'],
    ['erpnext', 'Cancelled', 'cancelled'],
    ['ramp', 'reimbursements.ready_for_review', 'pending_approval'],
    ['ramp', 'reimbursements.ready_to_sync', 'approved'],
    ['ramp', 'bills.rejected', 'rejected'],
    ['ramp', 'bills.paid', 'paid'],
  ])('%s %j -> %s', (system, code, state) => {
    expect(normaliseApprovalState(system, code)).toBe(state);
  });

  test('Business Central has no "Released" in API v2.0', () => {
    expect(Object.keys(BUSINESS_CENTRAL_APPROVAL_STATES)).not.toContain('Released');
    expect(thrown(() => normaliseApprovalState('businessCentral', 'Released')).code).toBe('SCHEMA_INVALID');
  });

  test('the tables cannot be changed at run time', () => {
    expect(Object.isFrozen(CONCUR_APPROVAL_STATES)).toBe(true);
    expect(Object.isFrozen(APPROVAL_STATE_TABLES)).toBe(true);
  });
});

describe('transitions', () => {
  test('every state has a transition entry of canonical states', () => {
    expect(Object.keys(ALLOWED_TRANSITIONS).sort()).toEqual([...APPROVAL_STATES].sort());
    for (const targets of Object.values(ALLOWED_TRANSITIONS))
      for (const to of targets) expect(APPROVAL_STATES).toContain(to);
  });

  test('final states are rejected, cancelled and paid', () => {
    expect(APPROVAL_STATES.filter(isFinalState).sort()).toEqual(['cancelled', 'paid', 'rejected']);
  });

  test.each<[ApprovalState, ApprovalState, boolean]>([
    ['draft', 'submitted', true],
    ['submitted', 'pending_approval', true],
    ['pending_approval', 'approved', true],
    ['pending_approval', 'escalated', true],
    ['escalated', 'approved', true],
    ['pending_approval', 'returned', true],
    ['returned', 'pending_approval', true],
    ['approved', 'posted', true],
    ['approved', 'returned', true],
    ['posted', 'paid', true],
    ['approved', 'approved', true],
    ['posted', 'draft', false],
    ['posted', 'approved', false],
    ['approved', 'draft', false],
    ['draft', 'posted', false],
    ['draft', 'paid', false],
    ['paid', 'approved', false],
    ['cancelled', 'pending_approval', false],
    ['rejected', 'approved', false],
  ])('%s -> %s allowed: %s', (from, to, allowed) => {
    expect(canTransition(from, to)).toBe(allowed);
  });

  test('nothing leaves a final state except staying in it', () => {
    for (const from of APPROVAL_STATES.filter(isFinalState)) {
      for (const to of APPROVAL_STATES) expect(canTransition(from, to)).toBe(from === to);
    }
  });
});
