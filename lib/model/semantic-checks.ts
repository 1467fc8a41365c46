/**
 * The money rules JSON Schema cannot express, run after a document passed its schema: the currency exists,
 * the amount is written canonically (exactly the currency's decimals) and is not negative, the lines of a
 * document are in its currency and add up to its total exactly, a line amount is quantity x unit price, and the
 * splits of a line add up to exactly 100 percent or exactly the line amount. Failures are reported as violations in the
 * same shape as schema failures, so a caller handles one list.
 */
import { currencyExponent } from './currencies';
import { formatMinorUnits, minorOf, multiply } from './money';
import type { DocType } from './schemas';
import type {
  AccountAssignment,
  BudgetCheckResult,
  ExpenseReport,
  Money,
  PurchaseOrder,
  Requisition,
  RequisitionLine,
} from './types';
import { joinPointer, quoteCut, type Violation } from './violations';

/** Amounts that may legitimately be negative: an overspent budget has negative funds available. */
const NEGATIVE_ALLOWED: Partial<Record<DocType, ReadonlySet<string>>> = {
  BudgetCheckResult: new Set(['/available']),
};
const NONE: ReadonlySet<string> = new Set();

/**
 * The minor units of every Money in a document, by the Money object itself; undefined for one that failed a
 * check (already reported). Keyed by object rather than by JSON pointer: building a pointer for every field of
 * every document cost more than the checks (CPU profile of the mapping benchmark), and the checks below hold
 * the objects anyway. Pointers are built only for violations.
 */
type MinorUnits = ReadonlyMap<object, bigint | undefined>;

export function semanticViolations(docType: DocType, doc: unknown): Violation[] {
  const violations: Violation[] = [];
  const minors = checkAllMoney(doc, NEGATIVE_ALLOWED[docType] ?? NONE, violations);
  switch (docType) {
    case 'ExpenseReport':
      checkExpenseReport(doc as ExpenseReport, minors, violations);
      break;
    case 'Requisition':
    case 'PurchaseOrder':
      checkOrder(doc as Requisition | PurchaseOrder, minors, violations);
      break;
    case 'BudgetCheckResult':
      checkBudgetCheckResult(doc as BudgetCheckResult, violations);
      break;
    default:
      break;
  }
  return violations;
}

/** The JSON pointer of the keys walked so far (joinPointer escapes each). */
function pointerOf(keys: ReadonlyArray<string | number>): string {
  return joinPointer('', ...keys);
}

/**
 * Finds every Money in the document and checks it. After the schema has passed, an object with a string
 * `amount` and a string `currency` can only be a Money, so one walk covers every document type; the other
 * string `currency` fields (a requisition's or supplier's currency) are checked for being known codes.
 * `keys` is the path walked so far, kept as a stack and turned into a pointer only where one is needed.
 */
function checkAllMoney(doc: unknown, negativeAllowed: ReadonlySet<string>, violations: Violation[]): MinorUnits {
  const minors = new Map<object, bigint | undefined>();
  const keys: Array<string | number> = [];
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) {
      for (let index = 0; index < value.length; index += 1) {
        keys.push(index);
        visit(value[index]);
        keys.pop();
      }
      return;
    }
    if (value === null || typeof value !== 'object') return;
    const record = value as Record<string, unknown>;
    if (typeof record.amount === 'string' && typeof record.currency === 'string') {
      const allowNegative = negativeAllowed.size > 0 && negativeAllowed.has(pointerOf(keys));
      const minor = checkMoney(record as unknown as Money, keys, allowNegative, violations);
      // The same object met twice (a mapping may reuse one) stays invalid once any of its places failed.
      minors.set(record, minors.has(record) && minors.get(record) === undefined ? undefined : minor);
      return;
    }
    if (typeof record.currency === 'string' && currencyExponent(record.currency) === undefined)
      reportUnknownCurrency(record.currency, pointerOf([...keys, 'currency']), violations);
    // for...in, as ajv's own checks walk a document, without the array Object.keys makes for every object.
    for (const key in record) {
      const field = record[key];
      // Most fields are strings and numbers: they hold no Money, so they are not visited.
      if (typeof field !== 'object' || field === null) continue;
      keys.push(key);
      visit(field);
      keys.pop();
    }
  };
  visit(doc);
  return minors;
}

function reportUnknownCurrency(code: string, path: string, violations: Violation[]): void {
  violations.push({
    path,
    rule: 'currency',
    message: `${path} "${code}" is not an active ISO 4217 currency code; use a code such as EUR, USD or JPY.`,
  });
}

/** Checks one Money found at `keys`; its minor units, or undefined after reporting what is wrong. */
function checkMoney(
  value: Money,
  keys: ReadonlyArray<string | number>,
  allowNegative: boolean,
  violations: Violation[],
): bigint | undefined {
  const exponent = currencyExponent(value.currency);
  if (exponent === undefined) {
    reportUnknownCurrency(value.currency, pointerOf([...keys, 'currency']), violations);
    return undefined;
  }
  const point = value.amount.indexOf('.');
  const decimals = point < 0 ? 0 : value.amount.length - point - 1;
  if (decimals > exponent) {
    const amountPath = pointerOf([...keys, 'amount']);
    violations.push({
      path: amountPath,
      rule: 'precision',
      message:
        `${amountPath} "${value.amount}" has ${decimals} decimal(s) but ${value.currency} ` +
        (exponent === 0 ? 'has none' : `has only ${exponent}`) +
        '; round the amount in the source system.',
    });
    return undefined;
  }
  const minor = minorOf(value);
  if (minor < 0n && !allowNegative) {
    const amountPath = pointerOf([...keys, 'amount']);
    violations.push({
      path: amountPath,
      rule: 'negative',
      message: `${amountPath} "${value.amount}" is negative; only zero or positive amounts are accepted here.`,
    });
    return undefined;
  }
  const problem = notCanonical(value, decimals, exponent, minor);
  if (problem !== undefined) {
    const amountPath = pointerOf([...keys, 'amount']);
    violations.push({
      path: amountPath,
      rule: 'canonical',
      message:
        `${amountPath} "${value.amount}" must be written ${problem}: ` +
        `"${formatMinorUnits(minor, value.currency)}".`,
    });
    return undefined;
  }
  return minor;
}

const MINUS = 45; // "-"
const ZERO = 48; // "0"
const POINT = 46; // "."

/**
 * How an amount the schema accepted differs from its one canonical form (DESIGN section 6: exactly the
 * currency's ISO 4217 decimals, no leading zeros, no "-0"), or undefined when it does not. Accepted amounts
 * are passed on as sent, and flows, ERPs and anything that compares documents as text would otherwise see
 * "1469.8", "001469.80" and "1469.80" as different amounts. Character codes only, no regular expression and
 * nothing allocated: this runs for every amount of every document.
 */
function notCanonical(value: Money, decimals: number, exponent: number, minor: bigint): string | undefined {
  if (decimals < exponent) {
    return `with ${exponent} ${exponent === 1 ? 'decimal' : 'decimals'} for ${value.currency}`;
  }
  const amount = value.amount;
  const negative = amount.charCodeAt(0) === MINUS;
  const first = negative ? 1 : 0;
  if (amount.charCodeAt(first) === ZERO && first + 1 < amount.length && amount.charCodeAt(first + 1) !== POINT) {
    return 'without leading zeros';
  }
  if (negative && minor === 0n) return 'as zero, without a minus sign';
  return undefined;
}

function currencyMismatch(path: string, actual: string, expected: string, what: string): Violation {
  return {
    path,
    rule: 'currencyMismatch',
    message: `${path} is ${actual} but ${what} is in ${expected}; convert the amount to ${expected} in the source system.`,
  };
}

/** Sum of the amounts, or undefined when one of them is missing or invalid (already reported). */
function sumOf(minors: MinorUnits, amounts: ReadonlyArray<Money | undefined>): bigint | undefined {
  let total = 0n;
  for (const amount of amounts) {
    const minor = amount === undefined ? undefined : minors.get(amount);
    if (minor === undefined) return undefined;
    total += minor;
  }
  return total;
}

function checkTotal(
  minors: MinorUnits,
  document: { total: Money; lines: ReadonlyArray<{ amount: Money }> },
  currency: string,
  violations: Violation[],
): void {
  const linesTotal = sumOf(
    minors,
    document.lines.map((line) => line.amount),
  );
  const total = minors.get(document.total);
  if (linesTotal === undefined || total === undefined || linesTotal === total) return;
  violations.push({
    path: '/total/amount',
    rule: 'total',
    message:
      `/total/amount is ${formatMinorUnits(total, currency)} but the lines add up to ` +
      `${formatMinorUnits(linesTotal, currency)} ${currency}; the total must equal the sum of the lines exactly.`,
  });
}

function checkUniqueLineIds(lines: ReadonlyArray<{ lineId: string }>, violations: Violation[]): void {
  const firstIndex = new Map<string, number>();
  lines.forEach((line, index) => {
    const first = firstIndex.get(line.lineId);
    if (first === undefined) {
      firstIndex.set(line.lineId, index);
      return;
    }
    violations.push({
      path: `/lines/${index}/lineId`,
      rule: 'uniqueLineId',
      message:
        `/lines/${index}/lineId ${quoteCut(line.lineId)} is already used by /lines/${first}; ` +
        'every line needs its own lineId.',
    });
  });
}

function checkExpenseReport(report: ExpenseReport, minors: MinorUnits, violations: Violation[]): void {
  const currency = report.total.currency;
  let sameCurrency = true;
  report.lines.forEach((line, index) => {
    if (line.amount.currency === currency) return;
    sameCurrency = false;
    violations.push(
      currencyMismatch(`/lines/${index}/amount/currency`, line.amount.currency, currency, 'the report total'),
    );
  });
  if (sameCurrency) {
    checkTotal(minors, report, currency, violations);
  }
  checkUniqueLineIds(report.lines, violations);

  const lineIds = new Set(report.lines.map((line) => line.lineId));
  const checkReference = (lineId: string | undefined, path: string): void => {
    if (lineId === undefined || lineIds.has(lineId)) return;
    violations.push({
      path,
      rule: 'lineReference',
      message:
        `${path} ${quoteCut(lineId)} names no line of this report; ` +
        'use the lineId of one of its lines or leave it out.',
    });
  };
  report.policyExceptions?.forEach((exception, index) =>
    checkReference(exception.lineId, `/policyExceptions/${index}/lineId`),
  );
  report.lines.forEach((line, lineIndex) =>
    line.policyExceptions?.forEach((exception, index) =>
      checkReference(exception.lineId, `/lines/${lineIndex}/policyExceptions/${index}/lineId`),
    ),
  );
}

function checkOrder(order: Requisition | PurchaseOrder, minors: MinorUnits, violations: Violation[]): void {
  const currency = order.currency;
  const before = violations.length;
  const expectCurrency = (value: Money, path: string): void => {
    if (value.currency !== currency) {
      violations.push(currencyMismatch(joinPointer(path, 'currency'), value.currency, currency, 'the document'));
    }
  };
  expectCurrency(order.total, '/total');
  order.lines.forEach((line, index) => {
    const path = `/lines/${index}`;
    expectCurrency(line.unitPrice, `${path}/unitPrice`);
    expectCurrency(line.amount, `${path}/amount`);
    line.accountAssignments.forEach((split, splitIndex) => {
      if (split.amount) expectCurrency(split.amount, `${path}/accountAssignments/${splitIndex}/amount`);
    });
  });
  // Sums across currencies mean nothing; the mismatch is the problem to report.
  if (violations.length > before) return;

  order.lines.forEach((line, index) => {
    checkLineAmount(line, `/lines/${index}`, minors, violations);
    checkSplits(line, `/lines/${index}`, minors, violations);
  });
  checkTotal(minors, order, currency, violations);
  checkUniqueLineIds(order.lines, violations);
}

function checkLineAmount(line: RequisitionLine, path: string, minors: MinorUnits, violations: Violation[]): void {
  const amount = minors.get(line.amount);
  if (amount === undefined || minors.get(line.unitPrice) === undefined) return;
  let expected: Money;
  try {
    expected = multiply(line.unitPrice, line.quantity, `${path}/quantity`);
  } catch (error) {
    // A product beyond 18 digits is a violation to report, like any other, not a failure of the validation.
    violations.push({ path: `${path}/amount/amount`, rule: 'lineAmount', message: (error as Error).message });
    return;
  }
  if (minorOf(expected) === amount) return;
  violations.push({
    path: `${path}/amount/amount`,
    rule: 'lineAmount',
    message:
      `${path}/amount/amount is ${line.amount.amount} but quantity ${line.quantity} x unit price ` +
      `${line.unitPrice.amount} ${line.unitPrice.currency} is ${expected.amount} (rounded half away from zero).`,
  });
}

/** Hundredths of a percent ("33.33" -> 3333n); the schema has already checked the grammar. */
function percentHundredths(percent: string): bigint {
  const [whole, fraction = ''] = percent.split('.');
  return BigInt(whole + fraction.padEnd(2, '0'));
}

function formatHundredths(hundredths: bigint): string {
  return `${hundredths / 100n}.${(hundredths % 100n).toString().padStart(2, '0')}`;
}

function checkSplits(line: RequisitionLine, path: string, minors: MinorUnits, violations: Violation[]): void {
  const splits: readonly AccountAssignment[] = line.accountAssignments;
  const splitsPath = `${path}/accountAssignments`;
  const byPercent = splits.filter((split) => split.percent !== undefined).length;
  if (byPercent > 0 && byPercent < splits.length) {
    violations.push({
      path: splitsPath,
      rule: 'split',
      message: `${splitsPath} mixes percentages and amounts; give every split of a line as a percent or every split as an amount.`,
    });
    return;
  }
  if (byPercent === splits.length) {
    const total = splits.reduce((sum, split) => sum + percentHundredths(split.percent as string), 0n);
    if (total !== 10000n) {
      violations.push({
        path: splitsPath,
        rule: 'split',
        message: `${splitsPath} percentages add up to ${formatHundredths(total)}, not 100; they must add up to exactly 100.`,
      });
    }
    return;
  }
  const lineAmount = minors.get(line.amount);
  const splitTotal = sumOf(
    minors,
    splits.map((split) => split.amount),
  );
  if (lineAmount === undefined || splitTotal === undefined || splitTotal === lineAmount) return;
  violations.push({
    path: splitsPath,
    rule: 'split',
    message:
      `${splitsPath} amounts add up to ${formatMinorUnits(splitTotal, line.amount.currency)} but the line amount is ` +
      `${line.amount.amount} ${line.amount.currency}; the splits must add up to the line exactly.`,
  });
}

function checkBudgetCheckResult(result: BudgetCheckResult, violations: Violation[]): void {
  const amounts: Array<[string, Money | undefined]> = [
    ['/requested', result.requested],
    ['/available', result.available],
    ['/budget', result.budget],
  ];
  for (const [path, value] of amounts) {
    if (value !== undefined && value.currency !== result.currency) {
      violations.push(currencyMismatch(`${path}/currency`, value.currency, result.currency, 'the result'));
    }
  }
}
