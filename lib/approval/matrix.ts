/**
 * The approval matrix: which approvers an expense report needs, by amount band and by company or cost
 * center. The analyst edits it in the finance-approval dialog; `validateMatrix` explains every mistake in
 * plain words (the dialog shows them, deploy refuses them) and `compileMatrix` turns a valid matrix into
 * minor-unit bands once, so routing a report compares bigints and parses nothing.
 */
import { FinanceError } from '../errors';
import { isKnownCurrency } from '../model/currencies';
import { formatMinorUnits, toMinorUnits } from '../model/money';

export const APPROVER_TYPES = ['manager', 'managerChain', 'role', 'person', 'costCenterOwner'] as const;
export type ApproverType = (typeof APPROVER_TYPES)[number];

export interface ApproverSpec {
  type: ApproverType;
  /** Role name (type 'role') or person id (type 'person'). */
  value?: string;
  /** managerChain only: exactly this many managers instead of climbing until an approval limit covers the total. */
  levels?: number;
}

export interface MatrixRule {
  id?: string;
  /** Company the rule applies to; absent or '*' for every company. */
  company?: string;
  /** Cost center the rule applies to; absent or '*' for every cost center. */
  costCenter?: string;
  /** Lower end of the band, included (decimal string in `currency`); absent means 0. */
  minAmount?: string;
  /** Upper end of the band, excluded (decimal string in `currency`); absent means no upper end. */
  maxAmount?: string;
  currency: string;
  approvers: ApproverSpec[];
  /** Approve automatically in this band when there is no policy exception and the budget is not exceeded. */
  autoApprove?: boolean;
}

export interface ApprovalMatrix {
  rules: MatrixRule[];
  /** Person id, or a role name listed in `roles`. Decides over-budget reports and policy exceptions. */
  financeController: string;
  /** Role name -> person id, e.g. { cfo: 'E1001' }. */
  roles?: Record<string, string>;
  /** Currency -> amount (decimal string): reports below it are approved automatically, whatever their band. */
  autoApproveBelow?: Record<string, string>;
  /** Hours an approver has to decide before the stage escalates. Calendar hours, not business hours. */
  slaHours?: number;
}

/** One mistake in the matrix: where it is (e.g. "rules[2].maxAmount") and what to do about it. */
export interface Violation {
  path: string;
  message: string;
}

export const DEFAULT_SLA_HOURS = 48;

/** A rule with its band in minor units; `company`/`costCenter` are '*' when the rule applies to all. */
export interface CompiledRule {
  id: string;
  company: string;
  costCenter: string;
  currency: string;
  min: bigint;
  /** Excluded upper end; undefined for an open band. */
  max?: bigint;
  approvers: readonly ApproverSpec[];
  autoApprove: boolean;
  /**
   * How specific the scope is: a cost center (2) outranks a company (1), which outranks the wildcard (0).
   * When rules of different scopes cover the same report, the most specific one wins, so a cost center can
   * override its company's rules without the analyst having to carve holes in the company bands.
   */
  specificity: number;
}

export interface CompiledMatrix {
  rules: readonly CompiledRule[];
  /** Person id of the finance controller (a role name is already resolved). */
  financeController: string;
  roles: Readonly<Record<string, string>>;
  /** Currency -> threshold in minor units. */
  autoApproveBelow: ReadonlyMap<string, bigint>;
  slaHours: number;
}

const WILDCARD = '*';

export function validateMatrix(config: unknown): Violation[] {
  const violations: Violation[] = [];
  const add = (path: string, message: string): void => {
    violations.push({ path, message });
  };
  if (!isObject(config)) {
    add('', 'The approval matrix must be an object with "rules" and "financeController".');
    return violations;
  }

  const roles = validateRoles(config.roles, add);

  if (!isNonEmptyString(config.financeController)) {
    add('financeController', 'Set the finance controller: a person id, or a role name listed under roles.');
  }

  if (config.slaHours !== undefined) {
    if (typeof config.slaHours !== 'number' || !Number.isFinite(config.slaHours) || config.slaHours <= 0) {
      add('slaHours', `The SLA must be a positive number of hours, not ${JSON.stringify(config.slaHours)}.`);
    }
  }

  if (config.autoApproveBelow !== undefined) {
    if (!isObject(config.autoApproveBelow)) {
      add(
        'autoApproveBelow',
        'Auto-approval thresholds must be an object of currency -> amount, e.g. { "EUR": "50.00" }.',
      );
    } else {
      for (const [currency, amount] of Object.entries(config.autoApproveBelow)) {
        const path = `autoApproveBelow.${currency}`;
        if (!isKnownCurrency(currency)) {
          add(path, `"${currency}" is not an ISO 4217 currency code. Use an upper-case code such as EUR, USD or JPY.`);
        } else {
          parseBound(amount, currency, path, add);
        }
      }
    }
  }

  if (!Array.isArray(config.rules) || config.rules.length === 0) {
    add('rules', 'Add at least one rule: an amount band in a currency and the approvers it needs.');
    return violations;
  }

  const bands: Array<{ index: number; label: string; scope: string; currency: string; min: bigint; max?: bigint }> = [];
  const seenIds = new Map<string, number>();
  config.rules.forEach((rule: unknown, index: number) => {
    const path = `rules[${index}]`;
    if (!isObject(rule)) {
      add(path, 'Each rule must be an object with a currency, an amount band and approvers.');
      return;
    }
    if (rule.id !== undefined) {
      if (!isNonEmptyString(rule.id)) {
        add(`${path}.id`, 'A rule id must be a non-empty text, or leave it out.');
      } else if (seenIds.has(rule.id)) {
        add(
          `${path}.id`,
          `Rule id "${rule.id}" is already used by rules[${seenIds.get(rule.id)}]; give each rule its own id.`,
        );
      } else {
        seenIds.set(rule.id, index);
      }
    }
    for (const field of ['company', 'costCenter'] as const) {
      if (rule[field] !== undefined && !isNonEmptyString(rule[field])) {
        add(`${path}.${field}`, `${field} must be a code, "*" for all, or left out.`);
      }
    }

    let band: { min: bigint; max?: bigint } | undefined;
    if (!isKnownCurrency(rule.currency)) {
      add(
        `${path}.currency`,
        `"${String(rule.currency)}" is not an ISO 4217 currency code. Use an upper-case code such as EUR, USD or JPY.`,
      );
    } else {
      const currency = rule.currency;
      const min = rule.minAmount === undefined ? 0n : parseBound(rule.minAmount, currency, `${path}.minAmount`, add);
      const max =
        rule.maxAmount === undefined ? undefined : parseBound(rule.maxAmount, currency, `${path}.maxAmount`, add);
      const maxParsed = rule.maxAmount === undefined || max !== undefined;
      if (min !== undefined && maxParsed) {
        if (max !== undefined && min >= max) {
          add(
            `${path}.maxAmount`,
            `The band must end above where it starts: maxAmount ${formatMinorUnits(max, currency)} is not above minAmount ${formatMinorUnits(min, currency)}.`,
          );
        } else {
          band = { min, max };
        }
      }
    }

    validateApprovers(rule.approvers, rule.autoApprove, roles, path, add);
    if (rule.autoApprove !== undefined && typeof rule.autoApprove !== 'boolean') {
      add(`${path}.autoApprove`, 'autoApprove must be true or false.');
    }

    if (band !== undefined) {
      bands.push({
        index,
        label: isNonEmptyString(rule.id) ? `Rule "${rule.id}"` : `rules[${index}]`,
        scope: `company ${scopeValue(rule.company)}, cost center ${scopeValue(rule.costCenter)}`,
        currency: rule.currency as string,
        ...band,
      });
    }
  });

  // Bands only need to be disjoint within one scope and currency; across scopes the more specific rule wins.
  for (let i = 0; i < bands.length; i += 1) {
    for (let j = i + 1; j < bands.length; j += 1) {
      const a = bands[i];
      const b = bands[j];
      if (a.scope !== b.scope || a.currency !== b.currency) continue;
      const overlap = (b.max === undefined || a.min < b.max) && (a.max === undefined || b.min < a.max);
      if (overlap) {
        add(
          `rules[${b.index}]`,
          `${b.label} (${describeBand(b.min, b.max, b.currency)}) overlaps ${a.label} (${describeBand(a.min, a.max, a.currency)}) ` +
            `for ${a.scope}. Bands include their minimum and exclude their maximum: let one band end where the other starts.`,
        );
      }
    }
  }
  return violations;
}

/** Validates and compiles once at deploy; throws CONFIG_INVALID listing every violation. */
export function compileMatrix(config: unknown): CompiledMatrix {
  const violations = validateMatrix(config);
  if (violations.length > 0) {
    throw new FinanceError(
      'CONFIG_INVALID',
      `The approval matrix is invalid: ${violations.map((v) => (v.path ? `${v.path}: ${v.message}` : v.message)).join(' ')}`,
      { details: { violations } },
    );
  }
  const matrix = config as ApprovalMatrix;
  const roles = { ...(matrix.roles ?? {}) };
  const rules = matrix.rules.map((rule, index): CompiledRule => {
    const company = scopeValue(rule.company);
    const costCenter = scopeValue(rule.costCenter);
    return Object.freeze({
      id: rule.id ?? `rule-${index + 1}`,
      company,
      costCenter,
      currency: rule.currency,
      min: rule.minAmount === undefined ? 0n : toMinorUnits(rule.minAmount, rule.currency),
      max: rule.maxAmount === undefined ? undefined : toMinorUnits(rule.maxAmount, rule.currency),
      approvers: Object.freeze(rule.approvers.map((approver) => Object.freeze({ ...approver }))),
      autoApprove: rule.autoApprove === true,
      specificity: (costCenter === WILDCARD ? 0 : 2) + (company === WILDCARD ? 0 : 1),
    });
  });
  const autoApproveBelow = new Map(
    Object.entries(matrix.autoApproveBelow ?? {}).map(([currency, amount]) => [
      currency,
      toMinorUnits(amount, currency),
    ]),
  );
  return Object.freeze({
    rules: Object.freeze(rules),
    // Own keys only: a controller id such as "constructor" must not resolve to something on Object.prototype.
    financeController: Object.hasOwn(roles, matrix.financeController)
      ? roles[matrix.financeController]
      : matrix.financeController,
    roles: Object.freeze(roles),
    autoApproveBelow,
    slaHours: matrix.slaHours ?? DEFAULT_SLA_HOURS,
  });
}

export interface RuleQuery {
  currency: string;
  amount: bigint;
  company?: string;
  costCenter?: string;
}

/** The rule whose scope and band cover the amount (the most specific scope wins); CONFIG_INVALID when none does. */
export function selectRule(matrix: CompiledMatrix, query: RuleQuery): CompiledRule {
  const inCurrency = matrix.rules.filter((rule) => rule.currency === query.currency);
  if (inCurrency.length === 0) {
    const covered = [...new Set(matrix.rules.map((rule) => rule.currency))].join(', ');
    throw new FinanceError(
      'CONFIG_INVALID',
      `The approval matrix has no rule for ${query.currency} (it covers ${covered}). ` +
        `Add ${query.currency} bands to the matrix, or convert the report to a covered currency before approval.`,
      { details: { currency: query.currency } },
    );
  }
  let best: CompiledRule | undefined;
  for (const rule of inCurrency) {
    const inScope =
      (rule.company === WILDCARD || rule.company === query.company) &&
      (rule.costCenter === WILDCARD || rule.costCenter === query.costCenter);
    const inBand = query.amount >= rule.min && (rule.max === undefined || query.amount < rule.max);
    if (inScope && inBand && (best === undefined || rule.specificity > best.specificity)) best = rule;
  }
  if (best === undefined) {
    const amount = formatMinorUnits(query.amount, query.currency);
    throw new FinanceError(
      'CONFIG_INVALID',
      `No approval rule covers ${amount} ${query.currency} for company ${query.company ?? '(none)'}, ` +
        `cost center ${query.costCenter ?? '(none)'}. Add a band that includes this amount for this scope or for "*".`,
      { details: { currency: query.currency, amount, company: query.company, costCenter: query.costCenter } },
    );
  }
  return best;
}

export function describeBand(min: bigint, max: bigint | undefined, currency: string): string {
  const from = formatMinorUnits(min, currency);
  return max === undefined
    ? `${from} ${currency} and above`
    : `${from} up to but not including ${formatMinorUnits(max, currency)} ${currency}`;
}

// ---- helpers -------------------------------------------------------------------------------------------

type AddViolation = (path: string, message: string) => void;

function validateRoles(value: unknown, add: AddViolation): Record<string, string> {
  if (value === undefined) return {};
  if (!isObject(value)) {
    add('roles', 'Roles must be an object of role name -> person id, e.g. { "cfo": "E1001" }.');
    return {};
  }
  const roles: Record<string, string> = {};
  for (const [name, person] of Object.entries(value)) {
    if (isNonEmptyString(person)) roles[name] = person;
    else add(`roles.${name}`, `Role "${name}" needs the id of the person who holds it.`);
  }
  return roles;
}

function validateApprovers(
  value: unknown,
  autoApprove: unknown,
  roles: Record<string, string>,
  path: string,
  add: AddViolation,
): void {
  if (!Array.isArray(value)) {
    add(`${path}.approvers`, 'approvers must be a list, e.g. [{ "type": "manager" }].');
    return;
  }
  // An auto-approving band may name nobody: when an exception blocks auto-approval, the controller decides.
  if (value.length === 0 && autoApprove !== true) {
    add(`${path}.approvers`, 'Add at least one approver, or set autoApprove for this band.');
  }
  value.forEach((approver: unknown, index: number) => {
    const at = `${path}.approvers[${index}]`;
    if (!isObject(approver)) {
      add(at, 'Each approver must be an object with a type.');
      return;
    }
    if (!(APPROVER_TYPES as readonly unknown[]).includes(approver.type)) {
      add(`${at}.type`, `Unknown approver type "${String(approver.type)}"; use one of ${APPROVER_TYPES.join(', ')}.`);
      return;
    }
    if (approver.type === 'role') {
      if (!isNonEmptyString(approver.value)) add(`${at}.value`, 'Name the role, e.g. "cfo".');
      else if (!Object.hasOwn(roles, approver.value)) {
        add(
          `${at}.value`,
          `Role "${approver.value}" is not listed under roles; add it with the id of the person who holds it.`,
        );
      }
    }
    if (approver.type === 'person' && !isNonEmptyString(approver.value)) {
      add(`${at}.value`, 'Give the id of the person who approves.');
    }
    if (approver.levels !== undefined) {
      if (approver.type !== 'managerChain') {
        add(`${at}.levels`, 'levels only applies to the managerChain approver type.');
      } else if (!Number.isInteger(approver.levels) || (approver.levels as number) < 1) {
        add(`${at}.levels`, `levels must be a whole number of at least 1, not ${JSON.stringify(approver.levels)}.`);
      }
    }
  });
}

function parseBound(value: unknown, currency: string, path: string, add: AddViolation): bigint | undefined {
  try {
    return toMinorUnits(value, currency, { path });
  } catch (error) {
    // The money parser prefixes its message with the path, which the violation already carries.
    const message = error instanceof Error ? error.message : String(error);
    add(path, message.startsWith(`${path}: `) ? message.slice(path.length + 2) : message);
    return undefined;
  }
}

function scopeValue(value: unknown): string {
  return isNonEmptyString(value) ? value : WILDCARD;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isNonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.trim().length > 0;
}
