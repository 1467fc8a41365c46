/**
 * Whether a Journal Entry or Purchase Invoice found under a posting's reference is that posting: the same
 * total and, per account, cost center and project, the same amounts; anything else is ERP_CONFLICT.
 */
import { FinanceError } from '../../errors';
import { fromMinorUnits, minorOf, sameAmount, sum } from '../../model/money';
import type { Money } from '../../model/types';
import type { CallContext, PostingRequest } from '../dialect';
import { isRecord } from '../records';
import type { ErpnextContext } from './context';
import type { FrappeClient } from './frappe-client';
import { PI, type Doc } from './shared';

export class PostingMatch {
  readonly #erp: ErpnextContext;
  readonly #api: FrappeClient;

  constructor(erp: ErpnextContext) {
    this.#erp = erp;
    this.#api = erp.api;
  }

  /**
   * A journal or invoice found under the posting's reference is this posting only when it holds the posting's
   * total (the dialect contract, ErpDialect.findPosting): another total is an earlier version of the report
   * (or a document changed in ERPNext), and answering it as posted, or submitting it when it is a draft, would
   * book amounts the report no longer has. An invoice's total is `grand_total`, in its own currency. A
   * journal's, in the company's currency, is what it credits the payable account (the net total) and its
   * `total_debit`: the sum of the expense (positive) lines, as refunds are credit rows (#postJournal); a
   * journal an earlier version wrote with refunds as negative debits holds the net total there, taken too.
   */
  async #requireSameTotal(doc: Doc, doctype: string, posting: PostingRequest, ctx: CallContext): Promise<void> {
    const amounts = posting.lines.map((line) => line.amount);
    let want = sum(amounts, posting.currency);
    const invoice = doctype === PI;
    let held: Money;
    if (invoice) {
      held = this.#api.money(doc.grand_total, String(doc.currency), 'grand_total');
      if (sameAmount(held, want)) return;
    } else {
      const currency = await this.#erp.currencyOfCompany(ctx);
      const debits = this.#api.money(doc.total_debit, currency, 'total_debit');
      const owed = this.#erp.payableAccount
        ? await this.#payableCredit(doc, this.#erp.payableAccount, currency, ctx)
        : undefined;
      const expectedDebits = journalDebits(amounts, posting.currency);
      const sameDebits = sameAmount(debits, expectedDebits) || sameAmount(debits, want);
      if (sameDebits && (owed === undefined || sameAmount(owed, want))) return;
      // The error compares like with like: what the journal owes the payee, else its debits.
      if (owed !== undefined && !sameAmount(owed, want)) held = owed;
      else [held, want] = [debits, expectedDebits];
    }
    const draft = doc.docstatus === 0;
    const name = String(doc.name);
    throw new FinanceError(
      'ERP_CONFLICT',
      `ERP "${this.#erp.system}" (ERPNext) already holds ${draft ? 'draft ' : ''}${doctype} ${name} for ${posting.externalReference}, totalling ${held.amount} ${held.currency}, but this posting totals ${want.amount} ${want.currency}: ${name} holds an earlier version of the document, or was changed in ERPNext, so it was ${draft ? 'not submitted' : 'not taken as this posting'} and nothing was written. Do not retry: compare ${name} in ERPNext with the document; to book this version, ${draft ? 'delete the draft' : `cancel ${name}`} in ERPNext and replay the posting; if ${name} is right, mark the posting as done.`,
      {
        retryable: false,
        details: {
          documentId: name,
          doctype,
          docstatus: doc.docstatus,
          externalReference: posting.externalReference,
          booked: held,
          expected: want,
        },
      },
    );
  }

  /**
   * A journal or invoice found under the posting's reference is this posting only when it books what the
   * posting books: its total (#requireSameTotal) and, account by account, the same amounts on the same
   * accounts, cost centers and projects (#requireSameRows). A revision of a report that re-codes lines keeps
   * its total; answering the earlier document as posted would leave the old coding booked.
   */
  async requireSamePosting(doc: Doc, doctype: string, posting: PostingRequest, ctx: CallContext): Promise<void> {
    await this.#requireSameTotal(doc, doctype, posting, ctx);
    await this.#requireSameRows(doc, doctype, posting, ctx);
  }

  /**
   * The document's expense rows (a journal's rows other than the payable account's; an invoice's items) against
   * the posting's lines, summed per account, cost center and project (in minor units, a journal's credit as a
   * negative amount): how the amounts are split into rows within one of them does not change what is booked.
   * A row's cost center the posting does not name is not counted where the posting has a line on that account
   * and project without one: ERPNext may fill in a default cost center on such a row. Any difference is
   * ERP_CONFLICT naming it.
   */
  async #requireSameRows(doc: Doc, doctype: string, posting: PostingRequest, ctx: CallContext): Promise<void> {
    const invoice = doctype === PI;
    const currency = invoice ? String(doc.currency) : await this.#erp.currencyOfCompany(ctx);
    const wanted = new Map<string, bigint>();
    // Per account and project: the cost centers the posting names, and whether a line names none.
    const centers = new Map<string, Set<string>>();
    const withoutCenter = new Set<string>();
    for (const [index, line] of posting.lines.entries()) {
      const { expense_account, cost_center, project } = await this.#erp.dimensions(
        line.dimensions,
        `lines[${index}]`,
        ctx,
      );
      const place = rowKey(expense_account, undefined, project);
      if (cost_center) centers.set(place, (centers.get(place) ?? new Set<string>()).add(cost_center));
      else withoutCenter.add(place);
      addTo(wanted, rowKey(expense_account, cost_center, project), minorOf(line.amount));
    }
    const payable =
      !invoice && this.#erp.payableAccount
        ? await this.#erp.nameOf('Account', 'account_number', this.#erp.payableAccount, ctx)
        : undefined;
    const rows = (
      Array.isArray(doc[invoice ? 'items' : 'accounts']) ? (doc[invoice ? 'items' : 'accounts'] as unknown[]) : []
    )
      .filter(isRecord)
      .filter((row) => invoice || row.account !== payable);
    const held = new Map<string, bigint>();
    for (const row of rows) {
      const account = String(invoice ? row.expense_account : row.account);
      const project = typeof row.project === 'string' && row.project !== '' ? row.project : undefined;
      const center = typeof row.cost_center === 'string' && row.cost_center !== '' ? row.cost_center : undefined;
      const place = rowKey(account, undefined, project);
      // A cost center the posting does not name, where it has a line without one, is ERPNext's default.
      const counted = center !== undefined && (centers.get(place)?.has(center) || !withoutCenter.has(place));
      const minor = invoice
        ? minorOf(this.#api.money(row.amount, currency, 'items.amount'))
        : minorOf(this.#api.money(row.debit_in_account_currency ?? 0, currency, 'accounts.debit_in_account_currency')) -
          minorOf(
            this.#api.money(row.credit_in_account_currency ?? 0, currency, 'accounts.credit_in_account_currency'),
          );
      addTo(held, rowKey(account, counted ? center : undefined, project), minor);
    }
    const name = String(doc.name);
    const differences: string[] = [];
    for (const key of [...new Set([...held.keys(), ...wanted.keys()])].sort()) {
      const has = held.get(key) ?? 0n;
      const want = wanted.get(key) ?? 0n;
      if (has === want) continue;
      differences.push(
        `${describeRow(key)}: ${fromMinorUnits(has, currency).amount} in ${name}, ${fromMinorUnits(want, currency).amount} in this posting`,
      );
    }
    if (differences.length === 0) return;
    const draft = doc.docstatus === 0;
    throw new FinanceError(
      'ERP_CONFLICT',
      `ERP "${this.#erp.system}" (ERPNext) already holds ${draft ? 'draft ' : ''}${doctype} ${name} for ${posting.externalReference} with this posting's total, but booked otherwise: ${differences.join('; ')}. ${name} holds an earlier version of the document (its lines were re-coded since), or was changed in ERPNext, so it was ${draft ? 'not submitted' : 'not taken as this posting'} and nothing was written. Do not retry: compare ${name} in ERPNext with the document; to book this version, ${draft ? 'delete the draft' : `cancel ${name}`} in ERPNext and replay the posting; if ${name} is right, mark the posting as done.`,
      {
        retryable: false,
        details: {
          documentId: name,
          doctype,
          docstatus: doc.docstatus,
          externalReference: posting.externalReference,
          vendorCode: 'ROWS_DIFFER',
          differences,
        },
      },
    );
  }

  /** What a Journal Entry credits the payable account, less what it debits it (its `accounts` rows). */
  async #payableCredit(doc: Doc, payableAccount: string, currency: string, ctx: CallContext): Promise<Money> {
    const payable = await this.#erp.nameOf('Account', 'account_number', payableAccount, ctx);
    const rows = Array.isArray(doc.accounts) ? doc.accounts.filter(isRecord) : [];
    let owed = 0n;
    for (const row of rows) {
      if (row.account !== payable) continue;
      owed += minorOf(
        this.#api.money(row.credit_in_account_currency ?? 0, currency, 'accounts.credit_in_account_currency'),
      );
      owed -= minorOf(
        this.#api.money(row.debit_in_account_currency ?? 0, currency, 'accounts.debit_in_account_currency'),
      );
    }
    return fromMinorUnits(owed, currency);
  }
}

/** A booking's place: account, cost center and project (ERPNext names), joined by a separator no name holds. */
function rowKey(account: string, costCenter: string | undefined, project: string | undefined): string {
  return [account, costCenter ?? '', project ?? ''].join('\u0000');
}

function describeRow(key: string): string {
  const [account, costCenter, project] = key.split('\u0000');
  return `account ${account}${costCenter ? `, cost center ${costCenter}` : ''}${project ? `, project ${project}` : ''}`;
}

function addTo(sums: Map<string, bigint>, key: string, minor: bigint): void {
  sums.set(key, (sums.get(key) ?? 0n) + minor);
}

/** The debit side of a posting's Journal Entry: its expense (positive) lines; refunds are credited. */
function journalDebits(amounts: readonly Money[], currency: string): Money {
  return fromMinorUnits(
    amounts.reduce((debits, amount) => {
      const minor = minorOf(amount);
      return minor > 0n ? debits + minor : debits;
    }, 0n),
    currency,
  );
}
