/**
 * The funds check of one document: its charges are grouped by budget key and period, the ERP is asked once
 * per group (a few at a time), and the answers are combined into msg.budget. The ERP is the authority for
 * the figures; this module only adds them up and compares them, in minor units.
 */
import { isFinanceError } from '../errors';
import type { CallContext, ErpDialect } from '../erp/dialect';
import { compare, fromMinorUnits, subtract, sum } from '../model/money';
import type { BudgetCheckRequest, ErpMessage, Money } from '../model/types';
import type { MappedDocument } from '../mapping/documents';
import { aggregateCharges, type BudgetKeyModel } from './aggregate';
import { chargesOf } from './charges';
import type { OpenCommitment } from './commitment';
import { mapBounded } from './bounded';
import { documentCurrency } from './document';
import { dateOf } from './periods';
import { decidingCheck, keyStatus, worstStatus } from './status';
import type { BudgetKeyCheck, BudgetOutcome, BudgetRequest, Charge, NoBudgetBehaviour, PeriodSource } from './types';

/** ERP funds checks one document may have in flight at once: a report with many cost centers stays polite. */
export const DEFAULT_MAX_PARALLEL_CHECKS = 4;

export interface BudgetCheckOptions {
  /** Consumption after the document, in percent of the budget, from which the result is a warning. */
  warningPercent: number;
  noBudget: NoBudgetBehaviour;
  periodFrom: PeriodSource;
  correlationId: string;
  /** Milliseconds since the epoch: the check time and the date of documents that have none. */
  now?: () => number;
  maxParallel?: number;
  /**
   * The document's commitment the ERP already counts (the open purchase order of an earlier version of this
   * requisition or purchase order, see commitment.ts): taken off per budget key and period, so only the change
   * is checked.
   */
  committed?: OpenCommitment;
  /** What the commitment lookup has to say (netted, or why it could not be): added to msg.budget.erpMessages. */
  commitmentMessages?: readonly ErpMessage[];
  /**
   * What other documents have reserved per budget key (reservations.ts): taken off what the ERP says is
   * available before the document is judged. Absent: nothing is reserved (the option is off).
   */
  reservedByOthers?: ReadonlyMap<string, Money>;
}

/** The dialect as the check uses it: its funds check call and how it keeps budgets (aggregate.ts). */
export type BudgetCheckDialect = Pick<ErpDialect, 'checkBudget'> &
  Partial<Pick<ErpDialect, 'budgetControl' | 'name'>> &
  BudgetKeyModel;

interface KeyAnswer {
  check: BudgetKeyCheck;
  erpMessages: ErpMessage[];
}

/**
 * A dialect reports "the ERP keeps no budget for these dimensions" as ERP_NOT_FOUND with the vendor code
 * NO_BUDGET (the sandbox ERP's 404 problem). Any other not-found (an unknown company) stays an error.
 */
export function isNoBudget(error: unknown): boolean {
  return isFinanceError(error) && error.code === 'ERP_NOT_FOUND' && error.details?.vendorCode === 'NO_BUDGET';
}

function describeKey(request: BudgetRequest): string {
  return Object.entries(request.dimensions)
    .map(([name, value]) => `${name} ${String(value)}`)
    .join(', ');
}

async function checkKey(
  dialect: Pick<ErpDialect, 'checkBudget'>,
  request: BudgetRequest,
  document: { company?: string; docType: BudgetCheckRequest['documentType'] },
  options: BudgetCheckOptions,
  ctx: CallContext,
): Promise<KeyAnswer> {
  const { company, docType } = document;
  const base = { key: request.key, dimensions: request.dimensions, period: request.period, lineIds: request.lineIds };
  try {
    const answer = await dialect.checkBudget(
      {
        ...(company === undefined ? {} : { company }),
        ...request.dimensions,
        period: request.period,
        amount: request.amount,
        documentType: docType,
      },
      ctx,
    );
    // Money other documents reserved is as good as spent: what is left for this one is the ERP's figure less it.
    const reserved = options.reservedByOthers?.get(request.key);
    const available = reserved === undefined ? answer.available : subtract(answer.available, reserved);
    const status = keyStatus(
      { budget: answer.budget, available, requested: request.amount, erpStatus: answer.status },
      options.warningPercent,
    );
    return {
      check: {
        ...base,
        requested: request.amount,
        available,
        budget: answer.budget,
        status,
        ...(reserved === undefined ? {} : { reservedByOthers: reserved }),
      },
      erpMessages: answer.erpMessages,
    };
  } catch (error) {
    if (!isNoBudget(error)) throw error;
    const zero = fromMinorUnits(0n, request.amount.currency);
    const meaning =
      options.noBudget === 'exceeded'
        ? 'treated as exceeded: no budget means no money'
        : 'treated as within: this dimension is not budget-controlled';
    return {
      check: {
        ...base,
        requested: request.amount,
        available: zero,
        budget: zero,
        status: options.noBudget,
        noBudget: true,
      },
      erpMessages: [
        {
          code: 'NO_BUDGET',
          severity: options.noBudget === 'exceeded' ? 'error' : 'info',
          text: `The ERP has no budget for ${describeKey(request)} in ${request.period}; ${meaning}.`,
        },
      ],
    };
  }
}

/**
 * Each request less what the same key and period already hold from the document's own commitment, never
 * below zero (a revision that lowers an amount asks for nothing more).
 */
function netOfCommitted(
  requests: BudgetRequest[],
  committed: readonly Charge[],
  currency: string,
  model: BudgetKeyModel,
): BudgetRequest[] {
  if (committed.length === 0) return requests;
  // The same keys as the document's: a commitment is taken off only where the ERP counts it in that budget.
  const held = new Map(aggregateCharges(committed, currency, model).map((request) => [request.key, request.amount]));
  const zero = fromMinorUnits(0n, currency);
  return requests.map((request) => {
    const already = held.get(request.key);
    if (already === undefined) return request;
    const net = subtract(request.amount, already);
    return { ...request, amount: compare(net, zero) < 0 ? zero : net };
  });
}

/** True when the ERP has no funds check call and checks the budget when the document is written. */
export function checkedAtCreation(dialect: Pick<ErpDialect, 'budgetControl'>): boolean {
  return dialect.budgetControl === 'at-creation';
}

/** The code of the info message that says why a result is `deferred`. */
export const CHECKED_AT_CREATION = 'CHECKED_AT_CREATION';

/**
 * msg.budget of an ERP that checks at creation: status `deferred`, what the document asks for, and a message
 * saying why; no available amount or budget, because none was asked for (a made-up one would be a fake pass).
 */
function deferredOutcome(
  dialect: Pick<ErpDialect, 'name'>,
  charges: Charge[],
  currency: string,
  nowMs: number,
): BudgetOutcome {
  const periods = [...new Set(charges.map((charge) => charge.period))].sort();
  return {
    status: 'deferred',
    requested: sum(
      charges.map((charge) => charge.amount),
      currency,
    ),
    currency,
    period: periods[0] ?? dateOf(nowMs).slice(0, 7),
    checkedAt: new Date(nowMs).toISOString(),
    erpMessages: [
      {
        code: CHECKED_AT_CREATION,
        severity: 'info',
        text:
          `The ERP (${dialect.name}) has no funds check call: its budget control checks this document when it is ` +
          `written, and refuses it there if it does not fit (then the outcome is budget_exceeded). Nothing was checked before.`,
      },
    ],
    checks: [],
  };
}

function chargesFor(document: MappedDocument, options: BudgetCheckOptions, nowMs: number): Charge[] {
  return chargesOf(document, {
    periodFrom: options.periodFrom,
    today: dateOf(nowMs),
    orderDate: options.committed?.orderDate,
  });
}

function requestsFor(
  dialect: BudgetKeyModel,
  charges: readonly Charge[],
  currency: string,
  options: BudgetCheckOptions,
): BudgetRequest[] {
  const model: BudgetKeyModel = { projectBudgetsPerAccount: dialect.projectBudgetsPerAccount === true };
  return netOfCommitted(aggregateCharges(charges, currency, model), options.committed?.charges ?? [], currency, model);
}

/**
 * The funds checks the document needs, one per budget key and period (after netting its own commitment), as
 * checkDocumentBudget makes them with the same options and clock: the budgets a reservation locks.
 */
export function budgetRequestsOf(
  dialect: BudgetKeyModel,
  document: MappedDocument,
  options: BudgetCheckOptions,
): BudgetRequest[] {
  const currency = documentCurrency(document);
  return requestsFor(dialect, chargesFor(document, options, (options.now ?? Date.now)()), currency, options);
}

export async function checkDocumentBudget(
  dialect: BudgetCheckDialect,
  document: MappedDocument,
  options: BudgetCheckOptions,
): Promise<BudgetOutcome> {
  const nowMs = (options.now ?? Date.now)();
  const currency = documentCurrency(document);
  const charges = chargesFor(document, options, nowMs);
  if (checkedAtCreation(dialect)) return deferredOutcome({ name: dialect.name ?? 'erp' }, charges, currency, nowMs);
  const requests = requestsFor(dialect, charges, currency, options);
  const ctx: CallContext = { correlationId: options.correlationId };
  const answers = await mapBounded(requests, options.maxParallel ?? DEFAULT_MAX_PARALLEL_CHECKS, (request) =>
    checkKey(dialect, request, document, options, ctx),
  );
  const checks = answers.map((answer) => answer.check);
  const decider = decidingCheck(checks);
  // The top-level figures are the deciding budget's, all of them (types.ts BudgetOutcome): status, requested
  // and available agree with each other, and with its checks[] entry.
  return {
    status: worstStatus(checks.map((check) => check.status)),
    key: decider.key,
    requested: decider.requested,
    ...(decider.noBudget ? {} : { available: decider.available, budget: decider.budget }),
    ...(decider.reservedByOthers === undefined ? {} : { reservedByOthers: decider.reservedByOthers }),
    currency,
    period: decider.period,
    checkedAt: new Date(nowMs).toISOString(),
    erpMessages: [...(options.commitmentMessages ?? []), ...answers.flatMap((answer) => answer.erpMessages)],
    checks,
  };
}
