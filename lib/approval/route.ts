/**
 * Routing: turns an expense report, its budget status and the compiled matrix into an ordered list of
 * approval stages, each naming the person expected to decide and why. Pure: the directory is read, nothing
 * is written, and the same inputs always give the same plan.
 */
import { FinanceError } from '../errors';
import { formatMinorUnits, toMinorUnits } from '../model/money';
import type { BudgetStatus, ExpenseReport, Money, PolicyException, SourceRef } from '../model/types';
import { nextManager, type ApprovalDirectory, type DirectoryEmployee } from './directory';
import {
  describeBand,
  selectRule,
  type ApproverSpec,
  type ApproverType,
  type CompiledMatrix,
  type CompiledRule,
} from './matrix';

export interface PlanInput {
  report: ExpenseReport;
  budgetStatus?: BudgetStatus;
  directory: ApprovalDirectory;
}

export type StageKind = ApproverType | 'finance_controller';

export interface PlannedStage {
  /** 1-based position in the chain. */
  stage: number;
  /** Person id expected to decide. */
  approver: string;
  kind: StageKind;
  /** Why this person: the approver rule, people skipped on the way, fallbacks taken. */
  reason: string;
  ruleId: string;
}

export interface ApprovalPlan {
  /** 'approved' when the rule approves automatically (then `stages` is empty). */
  state: 'approved' | 'pending_approval';
  autoApproved: boolean;
  ruleId: string;
  /** One sentence on how the report was routed, for the audit trail. */
  reason: string;
  stages: PlannedStage[];
  submitterId: string;
  total: Money;
  company?: string;
  costCenter?: string;
  budgetStatus?: BudgetStatus;
  /** Report-level and line-level exceptions together; line ones carry their lineId. */
  policyExceptions: PolicyException[];
  sourceRef: SourceRef;
  submittedAt?: string;
  slaHours: number;
}

interface Candidate {
  approver: string;
  kind: StageKind;
  reason: string;
}

interface RoutingContext {
  matrix: CompiledMatrix;
  directory: ApprovalDirectory;
  rule: CompiledRule;
  submitterId: string;
  currency: string;
  total: bigint;
  costCenter?: string;
}

export function planApproval(input: PlanInput, matrix: CompiledMatrix): ApprovalPlan {
  const { report, budgetStatus, directory } = input;
  if (typeof report?.employeeId !== 'string' || report.employeeId === '') {
    throw new FinanceError(
      'SCHEMA_INVALID',
      'report.employeeId is missing: routing needs to know who submitted the report.',
    );
  }
  if (typeof report.total !== 'object' || report.total === null) {
    throw new FinanceError(
      'SCHEMA_INVALID',
      'report.total is missing: routing picks the amount band from the report total.',
    );
  }
  if (!Array.isArray(report.lines)) {
    throw new FinanceError(
      'SCHEMA_INVALID',
      'report.lines must be a list (it may be empty): routing reads cost centers and policy exceptions from it.',
    );
  }
  const currency = report.total.currency;
  const total = toMinorUnits(report.total.amount, currency, { path: 'report.total.amount' });
  const company = report.company ?? report.lines.find((line) => line.dimensions?.company)?.dimensions.company;
  const costCenter = primaryCostCenter(report);
  const rule = selectRule(matrix, { currency, amount: total, company, costCenter });
  const policyExceptions = collectPolicyExceptions(report);
  const overBudget = budgetStatus === 'exceeded';

  const base = {
    ruleId: rule.id,
    submitterId: report.employeeId,
    total: { amount: formatMinorUnits(total, currency), currency },
    company,
    costCenter,
    budgetStatus,
    policyExceptions,
    sourceRef: report.sourceRef,
    submittedAt: report.submittedAt,
    slaHours: matrix.slaHours,
  };
  const band = describeBand(rule.min, rule.max, currency);

  const threshold = matrix.autoApproveBelow.get(currency);
  const belowThreshold = threshold !== undefined && total < threshold;
  if ((rule.autoApprove || belowThreshold) && !overBudget && policyExceptions.length === 0) {
    const why = rule.autoApprove
      ? `rule ${rule.id} approves ${band} automatically`
      : `the total is below the auto-approval threshold of ${formatMinorUnits(threshold as bigint, currency)} ${currency}`;
    return {
      ...base,
      state: 'approved',
      autoApproved: true,
      reason: `Approved automatically: ${why}, with no policy exception and the budget not exceeded.`,
      stages: [],
    };
  }

  const context: RoutingContext = {
    matrix,
    directory,
    rule,
    submitterId: report.employeeId,
    currency,
    total,
    costCenter,
  };
  const candidates = rule.approvers.flatMap((spec) => resolveApprover(spec, context));
  const controllerReasons: string[] = [];
  if (overBudget) controllerReasons.push('the budget is exceeded');
  if (policyExceptions.length > 0) {
    const codes = [...new Set(policyExceptions.map((exception) => exception.code))].join(', ');
    controllerReasons.push(`policy exceptions: ${codes}`);
  }
  if (controllerReasons.length > 0) {
    candidates.push(financeController(context, `finance controller review: ${controllerReasons.join('; ')}`));
  }

  return {
    ...base,
    state: 'pending_approval',
    autoApproved: false,
    reason: `Routed by rule ${rule.id} (${band}, company ${rule.company}, cost center ${rule.costCenter}).`,
    stages: numberStages(candidates, rule.id),
  };
}

function resolveApprover(spec: ApproverSpec, context: RoutingContext): Candidate[] {
  switch (spec.type) {
    case 'manager':
      return managerChain(context, 'manager', 1);
    case 'managerChain':
      return managerChain(context, 'managerChain', spec.levels);
    case 'role':
      return [checkPerson(context, context.matrix.roles[spec.value as string], 'role', `role ${spec.value}`)];
    case 'person':
      return [checkPerson(context, spec.value as string, 'person', 'named approver')];
    case 'costCenterOwner': {
      if (context.costCenter === undefined) {
        return [financeController(context, 'the report has no cost center, so there is no cost center owner')];
      }
      const owner = context.directory.costCenterOwner(context.costCenter);
      if (owner === undefined) {
        return [financeController(context, `cost center ${context.costCenter} has no owner`)];
      }
      return [checkPerson(context, owner, 'costCenterOwner', `owner of cost center ${context.costCenter}`)];
    }
  }
}

/**
 * Climbs from the submitter: exactly `levels` managers when set, otherwise until a manager's approval limit
 * covers the total. When the hierarchy ends first, the finance controller takes the missing decision.
 */
function managerChain(
  context: RoutingContext,
  kind: 'manager' | 'managerChain',
  levels: number | undefined,
): Candidate[] {
  const stages: Candidate[] = [];
  let from = context.submitterId;
  for (;;) {
    const step = nextManager(context.directory, from, context.submitterId);
    const skipped = step.skipped.length > 0 ? `; skipped ${step.skipped.join(', ')}` : '';
    if (step.manager === undefined) {
      const missing =
        stages.length === 0
          ? `no manager found (${step.endReason})`
          : levels === undefined
            ? `no manager above ${context.submitterId} has an approval limit covering the total (${step.endReason})`
            : `only ${stages.length} of ${levels} manager levels exist above ${context.submitterId} (${step.endReason})`;
      stages.push(financeController(context, `${missing}${skipped}`));
      return stages;
    }
    const manager = step.manager;
    const level = stages.length + 1;
    const covers = limitCovers(manager, context);
    const label =
      kind === 'manager'
        ? `manager of ${context.submitterId}`
        : `manager chain level ${level} above ${context.submitterId}`;
    const limitNote = levels === undefined ? `; ${describeLimit(manager, covers)}` : '';
    stages.push({ approver: manager.id, kind, reason: `${label}${limitNote}${skipped}` });
    if (levels !== undefined ? level >= levels : covers) return stages;
    from = manager.id;
  }
}

/** A named person may decide only when they are someone other than the submitter and active. */
function checkPerson(context: RoutingContext, id: string, kind: StageKind, label: string): Candidate {
  if (id === context.submitterId) return financeController(context, `${label} ${id} is the submitter`);
  const person = context.directory.employee(id);
  if (person === undefined) return financeController(context, `${label} ${id} is not in the employee directory`);
  if (!person.active) return financeController(context, `${label} ${id} is inactive`);
  return { approver: id, kind, reason: label };
}

/**
 * The finance controller, or when the controller submitted the report themself, their next active manager:
 * the controller cannot approve their own exception.
 */
function financeController(context: RoutingContext, reason: string): Candidate {
  const controller = context.matrix.financeController;
  if (controller !== context.submitterId) return { approver: controller, kind: 'finance_controller', reason };
  const step = nextManager(context.directory, controller, context.submitterId);
  if (step.manager === undefined) {
    throw new FinanceError(
      'CONFIG_INVALID',
      `The finance controller ${controller} submitted this report and nobody above them can approve it (${step.endReason}). ` +
        'Set a manager for the controller in master data, or name another finance controller in the approval matrix.',
      { details: { financeController: controller } },
    );
  }
  return {
    approver: step.manager.id,
    kind: 'finance_controller',
    reason: `${reason}; the finance controller submitted the report, so their manager decides`,
  };
}

function limitCovers(person: DirectoryEmployee, context: RoutingContext): boolean {
  const limit = person.approvalLimit;
  if (limit === undefined || limit.currency !== context.currency) return false;
  return toMinorUnits(limit.amount, limit.currency, { path: `employee ${person.id} approvalLimit` }) >= context.total;
}

function describeLimit(person: DirectoryEmployee, covers: boolean): string {
  const limit = person.approvalLimit;
  if (limit === undefined) return 'no approval limit on record';
  const amount = `${limit.amount} ${limit.currency}`;
  return covers ? `approval limit ${amount} covers the total` : `approval limit ${amount} does not cover the total`;
}

/**
 * Someone named twice (the manager who is also the controller, a role held by the manager) decides once, at
 * their first stage, which then carries both reasons.
 */
function numberStages(candidates: Candidate[], ruleId: string): PlannedStage[] {
  const stages: PlannedStage[] = [];
  for (const candidate of candidates) {
    const existing = stages.find((stage) => stage.approver === candidate.approver);
    if (existing !== undefined) {
      existing.reason = `${existing.reason}; also ${candidate.reason}`;
    } else {
      stages.push({ stage: stages.length + 1, ruleId, ...candidate });
    }
  }
  return stages;
}

/**
 * The cost center carrying most of the report (lines summed per cost center, ties to the first seen). Lines
 * in another currency than the total are left out: comparing them would need an exchange rate, and rates
 * belong to the ERP.
 */
function primaryCostCenter(report: ExpenseReport): string | undefined {
  const totals = new Map<string, bigint>();
  report.lines.forEach((line, index) => {
    const code = line.dimensions?.costCenter;
    if (!code || line.amount?.currency !== report.total.currency) return;
    const amount = toMinorUnits(line.amount.amount, line.amount.currency, {
      allowNegative: true,
      path: `report.lines[${index}].amount.amount`,
    });
    totals.set(code, (totals.get(code) ?? 0n) + amount);
  });
  let best: { code: string; amount: bigint } | undefined;
  for (const [code, amount] of totals) {
    if (best === undefined || amount > best.amount) best = { code, amount };
  }
  return best?.code;
}

function collectPolicyExceptions(report: ExpenseReport): PolicyException[] {
  return [
    ...(report.policyExceptions ?? []),
    ...report.lines.flatMap((line) =>
      (line.policyExceptions ?? []).map((exception) => ({ ...exception, lineId: exception.lineId ?? line.lineId })),
    ),
  ];
}
