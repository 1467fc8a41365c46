/**
 * Whether the G/L entries Business Central holds under a journal's document number are the posting's lines:
 * the comparison behind every replay that finds a journal already posted (journal.ts completePosting).
 */
import type { CallContext, PostingRequest } from '../dialect';
import { minorOf } from '../../model/money';
import type { BcContext } from './context';
import { decimalOf, describeDimensions, dimensionsOf, matches, quote, sameDimensions, type Entity } from './odata';

/** G/L account categories [S glAccountCategory] a VAT account has: the balance sheet's, never an expense. */
const TAX_CATEGORIES = new Set(['Assets', 'Liabilities']);

/**
 * What the entries are compared for:
 * - `replay`: BC held the document before this attempt wrote anything, so it may be another version of the
 *   report. Each line's cost center and project must be the entry's, exactly: a revision that took one off a
 *   line is another version. (API v2.0 does not publish a G/L account's default dimensions: defaultDimensions
 *   covers customers, items, vendors and employees only [S metadata], so one BC added as the account's
 *   default cannot be told from one an earlier version sent; the conflict message says so.) Tax BC split out
 *   counts for its own line (see journalDifferences), so each line's gross must be whole.
 * - `own-post`: the entries of the post this attempt just made from this version's lines alone (the batch
 *   held nothing else): an entry holds at least the dimensions its line was sent with (BC adds an account's
 *   defaults), and with tax split out each group holds at most its gross and all groups together miss
 *   exactly the tax. Only a post cut short or doubled shows here.
 */
export type Comparison = 'replay' | 'own-post';

interface Group {
  account: string;
  dimensions: Record<string, string>;
  want: bigint;
  /** Net of the entries on the line's account. */
  booked: bigint;
  /** What BC split out of the group's lines onto a VAT account. */
  tax: bigint;
}

/**
 * How the G/L entries of a journal differ from the posting's lines, as sentences (none: the same). Entries on
 * the balancing account are the lines' credits and left out. The others are grouped by the G/L account and
 * the cost center and project of the posting's lines (other dimensions BC adds, an account's defaults, are
 * not compared) and must add up to each group's amount. With VAT split out of a line BC books the net on the
 * expense account and the tax on a VAT account (a balance sheet account, category Assets or Liabilities, of
 * none of the posting's lines) as the entry right after the line's own [U codeunit 12 Gen. Jnl.-Post Line:
 * PostGLAcc inserts the line's G/L entry, then PostVAT its VAT entry, before the balancing entry]; so a tax
 * entry counts for the line whose entry came last before it, and each group must hold its gross amount in
 * net plus tax, exactly: an amount moved between lines is a difference even when both totals stay. An entry
 * on any other account (an expense account a line was moved away from), or a tax entry with no line's entry
 * before it, is a difference.
 */
export async function journalDifferences(
  bc: BcContext,
  entries: Entity[],
  posting: PostingRequest,
  comparison: Comparison,
  ctx: CallContext,
): Promise<string[]> {
  const local = await bc.localCurrency(ctx);
  const balancing = (await bc.configuredJournal(ctx)).balancingAccountNumber;
  const groups: Group[] = [];
  for (const line of posting.lines) {
    const account = String(line.dimensions.glAccount);
    const dimensions = dimensionsOf(bc.dimensionSetLines(line.dimensions));
    const group = groups.find((g) => g.account === account && sameDimensions(g.dimensions, dimensions));
    if (group) group.want += minorOf(line.amount);
    else groups.push({ account, dimensions, want: minorOf(line.amount), booked: 0n, tax: 0n });
  }
  const groupOf = (entry: Entity, account: string, held: Record<string, string>): Group | undefined => {
    if (comparison === 'replay') {
      const own = bc.ownDimensions(entry.dimensionSetLines);
      return groups.find((g) => g.account === account && sameDimensions(g.dimensions, own));
    }
    return groups
      .filter((g) => g.account === account && matches(held, g.dimensions))
      .sort((a, b) => Object.keys(b.dimensions).length - Object.keys(a.dimensions).length)[0];
  };
  const categories = new Map<string, string>();
  const differences: string[] = [];
  let last: Group | undefined;
  let taxTotal = 0n;
  for (const entry of inPostingOrder(entries)) {
    if (balancing && entry.accountNumber === balancing) continue;
    const amount =
      bc.minor(entry.debitAmount, local, 'debitAmount') - bc.minor(entry.creditAmount, local, 'creditAmount');
    const account = String(entry.accountNumber);
    const held = dimensionsOf(entry.dimensionSetLines);
    const group = groupOf(entry, account, held);
    if (group) {
      group.booked += amount;
      last = group;
      continue;
    }
    if (groups.some((g) => g.account === account)) {
      differences.push(
        `${decimalOf(amount, local)} on G/L account ${account} with ${describeDimensions(held)}, which no line of the posting has`,
      );
      continue;
    }
    if (!categories.has(account)) categories.set(account, await accountCategory(bc, account, ctx));
    const category = categories.get(account) ?? '';
    if (!TAX_CATEGORIES.has(category)) {
      differences.push(
        `${decimalOf(amount, local)} on G/L account ${account} (category ${category || 'unknown'}), which no line of the posting has`,
      );
    } else if (last !== undefined) {
      last.tax += amount;
      taxTotal += amount;
    } else if (comparison === 'replay') {
      differences.push(
        `${decimalOf(amount, local)} on G/L account ${account} (category ${category}) before any entry of the posting's lines`,
      );
    } else taxTotal += amount;
  }
  if (comparison === 'replay' || taxTotal === 0n) {
    for (const group of groups) {
      if (group.booked + group.tax === group.want) continue;
      const held =
        group.tax === 0n
          ? decimalOf(group.booked, local)
          : `${decimalOf(group.booked, local)} and ${decimalOf(group.tax, local)} tax split out of it`;
      differences.push(
        `G/L account ${group.account} with ${describeDimensions(group.dimensions)} holds ${held} where the posting has ${decimalOf(group.want, local)}${group.tax === 0n ? '' : ' (gross, tax included)'}`,
      );
    }
    return differences;
  }
  for (const group of groups) {
    const fits =
      group.want > 0n
        ? group.booked > 0n && group.booked <= group.want
        : group.booked < 0n && group.booked >= group.want;
    if (fits) continue;
    differences.push(
      `G/L account ${group.account} with ${describeDimensions(group.dimensions)} holds ${decimalOf(group.booked, local)} where the posting has ${decimalOf(group.want, local)} (gross, tax included)`,
    );
  }
  if (differences.length === 0) {
    const missing = groups.reduce((sum, g) => sum + g.want - g.booked, 0n);
    if (missing !== taxTotal) {
      differences.push(
        `other G/L accounts hold ${decimalOf(taxTotal, local)}, which is not the tax the posting's lines miss (${decimalOf(missing, local)})`,
      );
    }
  }
  return differences;
}

/** The entries in the order BC booked them: by entry number (Array sort is stable for equal ones). */
function inPostingOrder(entries: Entity[]): Entity[] {
  if (!entries.every((entry) => typeof entry.entryNumber === 'number')) return entries;
  return [...entries].sort((a, b) => Number(a.entryNumber) - Number(b.entryNumber));
}

/** The category of a G/L account (Assets, Liabilities, Expense...), '' when BC has no such account. */
async function accountCategory(bc: BcContext, number: string, ctx: CallContext): Promise<string> {
  const [account] = await bc.all(`${await bc.standardPath()}/accounts`, { $filter: `number eq ${quote(number)}` }, ctx);
  return typeof account?.category === 'string' ? account.category : '';
}
