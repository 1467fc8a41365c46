/**
 * Routing: turns an expense report, its budget status and the compiled matrix into an ordered list of
 * approval stages, each naming the person expected to decide and why. Pure: the directory is read, nothing
 * is written, and the same inputs always give the same plan.
 */
import { FinanceError } from '../errors';
import { formatMinorUnits, toMinorUnits } from '../model/money';
import type { BudgetStatus, ExpenseReport, Money, PolicyException, SourceRef } from '../model/types';
import { nextManager, type ApprovalDirectory, type DirectoryEmployee } from './directory';
import { personKey, sameId } from './person-id';
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
  /**
   * What routing had to work around and someone should look at (the submitter is not in the directory, the
   * finance controller is inactive, one person had to take two checks); the node logs each one.
   */
  warnings?: string[];
}

interface Candidate {
  approver: string;
  kind: StageKind;
  reason: string;
  /** The rule that asked for this check, when the report's cost centers select more than one. */
  ruleId?: string;
}

/** A cost center carrying part of the report and the rule it selects for the report's total. */
interface Scope {
  costCenter?: string;
  rule: CompiledRule;
}

interface RoutingContext {
  matrix: CompiledMatrix;
  directory: ApprovalDirectory;
  rule: CompiledRule;
  submitterId: string;
  currency: string;
  total: bigint;
  costCenter?: string;
  warnings: string[];
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
  // Every cost center carrying part of the report brings its own rule: choosing only the largest share's let a
  // report split 4,400 / 4,600 between two cost centers avoid the stricter rule of the smaller one.
  const costCenters = costCentersByShare(report);
  const costCenter = costCenters[0];
  const scopes = distinctScopes(
    (costCenters.length > 0 ? costCenters : [undefined]).map((code) => ({
      costCenter: code,
      rule: selectRule(matrix, { currency, amount: total, company, costCenter: code }),
    })),
  );
  const rule = scopes[0].rule;
  const ruleIds = [...new Set(scopes.map((scope) => scope.rule.id))];
  const policyExceptions = collectPolicyExceptions(report);
  const overBudget = budgetStatus === 'exceeded';
  const warnings: string[] = [];
  // A submitter the directory does not know (a new hire not synced yet, a mistyped id) is neither refused nor
  // approved unseen: the finance controller decides, told why, and the node warns.
  const unknownSubmitter = directory.employee(report.employeeId) === undefined;
  if (unknownSubmitter) {
    warnings.push(
      `The submitter ${report.employeeId} of ${report.sourceRef?.system}/${report.sourceRef?.id} is not in the employee ` +
        'directory, so nobody can check whose manager decides: the finance controller decides it. If this is a new ' +
        'employee, sync the master data; otherwise check the id the source sends.',
    );
  }

  const base = {
    ruleId: ruleIds.join('+'),
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
  const autoApprove = scopes.every((scope) => scope.rule.autoApprove);
  if ((autoApprove || belowThreshold) && !overBudget && policyExceptions.length === 0 && !unknownSubmitter) {
    const why = autoApprove
      ? `rule ${ruleIds.join(' and ')} ${ruleIds.length > 1 ? 'approve' : 'approves'} ${band} automatically`
      : `the total is below the auto-approval threshold of ${formatMinorUnits(threshold as bigint, currency)} ${currency}`;
    return {
      ...base,
      state: 'approved',
      autoApproved: true,
      reason: `Approved automatically: ${why}, with no policy exception and the budget not exceeded.`,
      stages: [],
    };
  }

  const contextOf = (scope: Scope): RoutingContext => ({
    matrix,
    directory,
    rule: scope.rule,
    submitterId: report.employeeId,
    currency,
    total,
    costCenter: scope.costCenter,
    warnings,
  });
  const candidates: Candidate[] = [];
  for (const scope of scopes) {
    // Within one rule each check is a different person's; across rules one person may meet the same need of both.
    for (const candidate of routeByRule(contextOf(scope))) {
      const existing = candidates.find((other) => sameId(other.approver, candidate.approver));
      if (existing === undefined) candidates.push({ ...candidate, ruleId: scope.rule.id });
      else existing.reason = `${existing.reason}; also ${candidate.reason} (rule ${scope.rule.id})`;
    }
  }
  const controllerReasons: string[] = [];
  if (overBudget) controllerReasons.push('the budget is exceeded');
  if (policyExceptions.length > 0) {
    const codes = [...new Set(policyExceptions.map((exception) => exception.code))].join(', ');
    controllerReasons.push(`policy exceptions: ${codes}`);
  }
  if (unknownSubmitter) controllerReasons.push(`the submitter ${report.employeeId} is not in the employee directory`);
  if (controllerReasons.length > 0) {
    const context = contextOf(scopes[0]);
    const review = financeController(context, `finance controller review: ${controllerReasons.join('; ')}`);
    addDistinct(candidates, review, context, true);
  }

  const routedBy = scopes.map(
    (scope, index) =>
      `rule ${scope.rule.id} (${describeBand(scope.rule.min, scope.rule.max, currency)}, company ${scope.rule.company}, ` +
      `cost center ${scope.rule.costCenter})${scopes.length > 1 ? ` for cost center ${scope.costCenter ?? '(none)'}` : ''}` +
      (index === 0 ? '' : ', which carries part of the report'),
  );
  return {
    ...base,
    state: 'pending_approval',
    autoApproved: false,
    reason: `Routed by ${routedBy.join(' and by ')}.`,
    stages: numberStages(candidates, rule.id),
    // The same warning may come from more than one check (an inactive controller stands in for several).
    ...(warnings.length > 0 && { warnings: [...new Set(warnings)] }),
  };
}

/**
 * The checks one rule asks for, each by a different person: someone named twice (the manager who is also the
 * CFO) takes one check and the next eligible person the other. When the last of them may not approve the total
 * (their approval limit does not cover it, or none is on record), the checks go on up the hierarchy as an open
 * managerChain does, to someone whose limit covers it or else the finance controller.
 */
function routeByRule(context: RoutingContext): Candidate[] {
  const checks: Candidate[] = [];
  for (const spec of context.rule.approvers) {
    for (const candidate of resolveApprover(spec, context)) addDistinct(checks, candidate, context, false);
  }
  return [...checks, ...climbToLimit(context, checks)];
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
  if (sameId(id, context.submitterId)) return financeController(context, `${label} ${id} is the submitter`);
  const person = context.directory.employee(id);
  if (person === undefined) return financeController(context, `${label} ${id} is not in the employee directory`);
  if (!person.active) return financeController(context, `${label} ${id} is inactive`);
  return { approver: id, kind, reason: label };
}

/**
 * The finance controller; when the controller submitted the report themself (they cannot approve their own
 * exception) or is inactive, their next active manager. A controller the directory does not know is a
 * configuration mistake, refused with CONFIG_INVALID: routing to an id nobody answers to leaves reports waiting
 * until the SLA runs out, unseen.
 */
function financeController(context: RoutingContext, reason: string): Candidate {
  const controller = context.matrix.financeController;
  const person = context.directory.employee(controller);
  if (person === undefined) {
    throw new FinanceError(
      'CONFIG_INVALID',
      `The finance controller ${controller} named in the approval matrix is not in the employee directory, so ` +
        'nobody would receive the reports they must decide. Name a finance controller who is in the directory ' +
        "(the ERP's employees), or sync the master data if they were added recently.",
      { details: { financeController: controller } },
    );
  }
  const submitted = sameId(controller, context.submitterId);
  const unable = submitted ? 'submitted the report' : person.active ? undefined : 'is inactive';
  if (unable === undefined) return { approver: controller, kind: 'finance_controller', reason };
  const step = nextManager(context.directory, controller, context.submitterId);
  if (step.manager === undefined) {
    throw new FinanceError(
      'CONFIG_INVALID',
      `The finance controller ${controller} ${submitted ? 'submitted this report' : unable} and nobody above them can approve it (${step.endReason}). ` +
        'Set a manager for the controller in master data, or name another finance controller in the approval matrix.',
      { details: { financeController: controller } },
    );
  }
  if (unable === 'is inactive') {
    context.warnings.push(
      `The finance controller ${controller} is inactive in the employee directory; their manager ${step.manager.id} ` +
        'decides in their place. Name an active finance controller in the approval matrix.',
    );
  }
  return {
    approver: step.manager.id,
    kind: 'finance_controller',
    reason: `${reason}; the finance controller ${unable}, so their manager decides`,
  };
}

/**
 * Adds a check to `checks`, by someone not already in them: each stage is a different person's check (judge and
 * escalationTarget keep to that too). Someone named again gives the check to the next eligible person above them
 * (nextEligible). Only the controller's review (`review`) joins a stage the controller already holds as the
 * controller, since it is the same person's same check. When nobody else is eligible, the stage carries both
 * checks and routing warns.
 */
function addDistinct(checks: Candidate[], candidate: Candidate, context: RoutingContext, review: boolean): void {
  const index = checks.findIndex((other) => sameId(other.approver, candidate.approver));
  if (index < 0) {
    checks.push(candidate);
    return;
  }
  const existing = checks[index];
  if (review && existing.kind === 'finance_controller') {
    existing.reason = `${existing.reason}; also ${candidate.reason}`;
    return;
  }
  const next = nextEligible(context, candidate.approver, checks);
  if (next !== undefined) {
    checks.push({
      approver: next,
      kind: candidate.kind,
      reason: `${candidate.reason}; ${candidate.approver} already decides stage ${index + 1}, so ${next}, next above them, decides`,
    });
    return;
  }
  existing.reason = `${existing.reason}; also ${candidate.reason}`;
  context.warnings.push(
    `${candidate.approver} takes two checks of one approval (${existing.reason}): nobody else above them may decide. ` +
      'Name another person for one of them in the approval matrix, or complete the manager hierarchy.',
  );
}

/**
 * The next person above `from` who may take a check none of `taken` holds: the first active manager above them
 * (not the submitter) who holds no check, else the finance controller (or their stand-in), else nobody. The same
 * climb an SLA escalation takes (escalationTarget).
 */
function nextEligible(context: RoutingContext, from: string, taken: readonly Candidate[]): string | undefined {
  const isTaken = (id: string): boolean => taken.some((check) => sameId(check.approver, id));
  const climbed = new Set<string>([personKey(from)]);
  let at = from;
  for (;;) {
    const manager = nextManager(context.directory, at, context.submitterId).manager;
    if (manager === undefined || climbed.has(personKey(manager.id))) break;
    if (!isTaken(manager.id)) return manager.id;
    climbed.add(personKey(manager.id));
    at = manager.id;
  }
  const controller = financeController(context, '').approver;
  return isTaken(controller) ? undefined : controller;
}

/**
 * When the last of a rule's checks is by someone whose approval limit does not cover the total (the limit is "the
 * largest total this person may approve"), the managers above them decide too, up to one whose limit covers it,
 * as an open managerChain climbs; when the hierarchy ends first, the finance controller. A controller as the last
 * check needs no limit: the controller is where every climb ends. A last approver with no limit on record is taken
 * as the matrix names them: the band is then the authority (Business Central's and ERPNext's employee records carry
 * no approval limit, and climbing for every such approver would send every report up the whole hierarchy).
 */
function climbToLimit(context: RoutingContext, checks: readonly Candidate[]): Candidate[] {
  const last = checks.at(-1);
  if (last === undefined || last.kind === 'finance_controller') return [];
  const lastPerson = context.directory.employee(last.approver);
  if (lastPerson?.approvalLimit === undefined || limitCovers(lastPerson, context)) return [];
  const why = `the approval limit of ${last.approver} does not cover the total (${describeLimit(lastPerson, false)})`;
  const added: Candidate[] = [];
  const isTaken = (id: string): boolean => [...checks, ...added].some((check) => sameId(check.approver, id));
  const climbed = new Set<string>([personKey(last.approver)]);
  let from = last.approver;
  for (;;) {
    const step = nextManager(context.directory, from, context.submitterId);
    const manager = step.manager;
    if (manager === undefined || climbed.has(personKey(manager.id))) {
      const end = step.endReason ?? `the manager chain loops back to ${manager?.id}`;
      const fallback = financeController(context, `${why}, nor does any manager's above them (${end})`);
      if (!isTaken(fallback.approver)) added.push(fallback);
      return added;
    }
    climbed.add(personKey(manager.id));
    from = manager.id;
    if (isTaken(manager.id)) continue;
    const covers = limitCovers(manager, context);
    added.push({
      approver: manager.id,
      kind: 'managerChain',
      reason: `${why}: manager above ${last.approver}; ${describeLimit(manager, covers)}`,
    });
    if (covers) return added;
  }
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

/** Numbers the checks; each names its own rule when the report's cost centers selected more than one. */
function numberStages(candidates: Candidate[], ruleId: string): PlannedStage[] {
  return candidates.map(({ ruleId: own, ...candidate }, index) => ({
    stage: index + 1,
    ruleId: own ?? ruleId,
    ...candidate,
  }));
}

/**
 * The cost centers carrying part of the report (a line with a positive amount), largest share first (lines
 * summed per cost center, ties to the first seen). A line in another currency than the total carries a share
 * too, counted after those in the total's currency: comparing it would need an exchange rate, and rates belong
 * to the ERP.
 */
function costCentersByShare(report: ExpenseReport): string[] {
  const totals = new Map<string, bigint>();
  const foreign = new Set<string>();
  report.lines.forEach((line, index) => {
    const code = line.dimensions?.costCenter;
    if (!code || typeof line.amount?.currency !== 'string') return;
    const amount = toMinorUnits(line.amount.amount, line.amount.currency, {
      allowNegative: true,
      path: `report.lines[${index}].amount.amount`,
    });
    if (line.amount.currency !== report.total.currency) {
      if (amount > 0n) foreign.add(code);
      return;
    }
    totals.set(code, (totals.get(code) ?? 0n) + amount);
  });
  const shared = [...totals].filter(([, amount]) => amount > 0n);
  // Array.prototype.sort is stable: equal shares keep the order first seen.
  shared.sort(([, a], [, b]) => (a === b ? 0 : a > b ? -1 : 1));
  const codes = shared.map(([code]) => code);
  return [...codes, ...[...foreign].filter((code) => !totals.has(code))];
}

/**
 * One scope per rule, except that a rule with a costCenterOwner check keeps one scope per cost center, whose
 * owner it names.
 */
function distinctScopes(scopes: Scope[]): Scope[] {
  const seen = new Set<string>();
  return scopes.filter((scope) => {
    const perCostCenter = scope.rule.approvers.some((spec) => spec.type === 'costCenterOwner');
    const key = perCostCenter ? `${scope.rule.id}\u0000${scope.costCenter ?? ''}` : scope.rule.id;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function collectPolicyExceptions(report: ExpenseReport): PolicyException[] {
  return [
    ...(report.policyExceptions ?? []),
    ...report.lines.flatMap((line) =>
      (line.policyExceptions ?? []).map((exception) => ({ ...exception, lineId: exception.lineId ?? line.lineId })),
    ),
  ];
}
