/**
 * Postings in ERPNext: an expense report as a Journal Entry (keyed by Reference Number `cheque_no`, balanced on
 * the payable account, the Employee as party on a Payable account), a payable as a Purchase Invoice (keyed by
 * Supplier Invoice No `bill_no`); both inserted as drafts and submitted, a draft an earlier attempt left
 * checked (PostingMatch), moved to the posting date and submitted.
 */
import { FinanceError } from '../../errors';
import { fromMinorUnits, minorOf, sameAmount, sum } from '../../model/money';
import type { CallContext, FoundDocument, PostingRef, PostingRequest } from '../dialect';
import { refuseTaxCodedExpenseLines } from '../expense-tax-codes';
import { jsonNumber } from '../json-number';
import { fitReference } from '../reference';
import type { ErpnextContext } from './context';
import type { FrappeClient } from './frappe-client';
import { PostingMatch } from './posting-match';
import { FRAPPE_DATA_LENGTH, invalid, isRefused, isStale, PI, type Doc } from './shared';

export class ErpnextPostings {
  readonly #erp: ErpnextContext;
  readonly #api: FrappeClient;
  readonly #match: PostingMatch;
  readonly #accountTypes = new Map<string, Promise<string>>();

  constructor(erp: ErpnextContext) {
    this.#erp = erp;
    this.#api = erp.api;
    this.#match = new PostingMatch(erp);
  }

  async post(posting: PostingRequest, ctx: CallContext): Promise<PostingRef> {
    return posting.kind === 'payable' ? this.#postInvoice(posting, ctx) : this.#postJournal(posting, ctx);
  }

  async #postJournal(posting: PostingRequest, ctx: CallContext): Promise<PostingRef> {
    if (!this.#erp.payableAccount) {
      throw new FinanceError(
        'CONFIG_INVALID',
        `ERP "${this.#erp.system}" (ERPNext): set the payable account (the account number the journal credits, e.g. the employee payable account).`,
      );
    }
    const currencies = [posting.currency, ...posting.lines.map((line) => line.amount.currency)];
    for (const currency of new Set(currencies))
      await this.#erp.requireCompanyCurrency(currency, `Journal posting ${posting.externalReference}`, ctx);
    const reference = fitReference(posting.externalReference, FRAPPE_DATA_LENGTH);
    const existing = await this.findJournal(reference, ctx);
    if (existing) await this.#match.requireSamePosting(existing, 'Journal Entry', posting, ctx);
    if (existing?.docstatus === 1) return this.#postingRef(existing);
    refuseTaxCodedExpenseLines(posting, 'an ERPNext Journal Entry (its account rows have no tax field)');
    const total = posting.lines.reduce((net, line) => net + minorOf(line.amount), 0n);
    if (total <= 0n) {
      throw new FinanceError(
        'SCHEMA_INVALID',
        `Posting ${posting.externalReference}: its lines add up to ${fromMinorUnits(total, posting.currency).amount} ${posting.currency}, so the payable account would be credited nothing or debited; this dialect posts only what is owed to the payee. Nothing was written. Book the report by hand in ERPNext, or mark the posting as done.`,
        {
          retryable: false,
          details: { externalReference: posting.externalReference, total: fromMinorUnits(total, posting.currency) },
        },
      );
    }
    let draft = existing;
    if (!draft) {
      // One row per line on its own side: an expense is debited, a refund (a negative line) credited with its
      // absolute value; a 0.00 line is left out, as ERPNext refuses a row whose debit and credit are both zero
      // [S journal_entry.py validate_debit_credit_amount]. The payable is credited with the net total, so the
      // debits (the expense lines) equal the credits (refunds + payable) exactly, in minor units.
      const accounts: Doc[] = [];
      for (const [index, line] of posting.lines.entries()) {
        const minor = minorOf(line.amount);
        if (minor === 0n) continue;
        const where = `lines[${index}]`;
        const magnitude = jsonNumber(
          fromMinorUnits(minor < 0n ? -minor : minor, posting.currency).amount,
          `${where}.amount`,
        );
        const { expense_account, ...dimensions } = await this.#erp.dimensions(line.dimensions, where, ctx);
        accounts.push({
          account: expense_account,
          ...(minor > 0n ? { debit_in_account_currency: magnitude } : { credit_in_account_currency: magnitude }),
          ...dimensions,
          user_remark: line.description ?? '',
        });
      }
      const payable = await this.#erp.nameOf('Account', 'account_number', this.#erp.payableAccount, ctx);
      accounts.push({
        account: payable,
        credit_in_account_currency: jsonNumber(
          fromMinorUnits(total, posting.currency).amount,
          'journal total (payable credit)',
        ),
        ...(await this.#partyOf(payable, posting, ctx)),
      });
      draft = await this.#api.insert(
        'Journal Entry',
        {
          voucher_type: 'Journal Entry',
          company: this.#erp.company,
          posting_date: posting.postingDate,
          cheque_no: reference,
          cheque_date: posting.postingDate,
          user_remark: `${posting.externalReference}${posting.employeeId ? ` (employee ${posting.employeeId})` : ''}`,
          accounts,
        },
        ctx,
      );
    } else {
      draft = await this.#redateDraft(draft, 'Journal Entry', posting, ctx);
    }
    return this.#postingRef(await this.#submitOnce('Journal Entry', draft, posting, ctx));
  }

  /**
   * The party of the journal's payable row: ERPNext refuses a row on a Receivable or Payable account without
   * Party Type and Party ("Row {0}: Party Type and Party is required for Receivable / Payable account {1}",
   * journal_entry.py validate_party), and some versions refuse a party on any other account ("Party Type and
   * Party is only applicable against Receivable / Payable account") [S]. So the party (the Employee, whom the
   * payable is owed to) is sent only when the account's account_type is Payable or Receivable.
   */
  async #partyOf(account: string, posting: PostingRequest, ctx: CallContext): Promise<Doc> {
    const type = await this.#accountTypeOf(account, ctx);
    if (type !== 'Payable' && type !== 'Receivable') return {};
    if (!posting.employeeId)
      throw invalid(
        `a journal on ${type} account ${account} needs employeeId: ERPNext requires the party (the Employee owed) on that row`,
      );
    return { party_type: 'Employee', party: await this.#employeeOf(posting.employeeId, ctx) };
  }

  /** An Account's account_type ("Payable", "Receivable", "" ...), read once per account. */
  #accountTypeOf(account: string, ctx: CallContext): Promise<string> {
    let type = this.#accountTypes.get(account);
    if (!type) {
      type = (async () => {
        const doc = await this.#api.get('Account', account, ctx);
        if (!doc) throw new FinanceError('ERP_REJECTED', `ERP "${this.#erp.system}" has no Account ${account}.`);
        return typeof doc.account_type === 'string' ? doc.account_type : '';
      })();
      this.#accountTypes.set(account, type);
      type.catch(() => this.#accountTypes.delete(account));
    }
    return type;
  }

  /**
   * The ERPNext Employee (its name, the Employee ID) for the report's employee id: the Employee of that name
   * in this company, else the one whose Employee Number (`employee_number`) is the id. ERPNext names employees
   * by HR Settings "Employee Naming By" (a naming series such as HR-EMP-00001 by default, the Employee Number,
   * or the full name), while the id comes from the expense source; where they differ, the Employee Number
   * carries the source's id.
   */
  async #employeeOf(employeeId: string, ctx: CallContext): Promise<string> {
    const named = await this.#api.get('Employee', employeeId, ctx);
    if (named && (named.company === undefined || named.company === this.#erp.company)) return String(named.name);
    const rows = await this.#api.list(
      'Employee',
      {
        filters: [
          ['employee_number', '=', employeeId],
          ['company', '=', this.#erp.company],
        ],
        fields: ['name'],
        limit: 2,
      },
      ctx,
    );
    if (rows.length === 1) return String(rows[0].name);
    throw new FinanceError(
      'ERP_REJECTED',
      `ERP "${this.#erp.system}" (ERPNext) has ${rows.length === 0 ? 'no' : 'more than one'} Employee in company ${this.#erp.company} whose ID or Employee Number is ${employeeId}, so the journal's payable row has no party (ERPNext requires one on a Payable account). Nothing was written. Set the Employee Number of the employee in ERPNext to ${employeeId} (the id the expense source gives), or map the source's employee id to the ERPNext Employee ID, then replay the dead letter.`,
      { retryable: false, details: { vendorCode: 'NO_EMPLOYEE', employeeId, company: this.#erp.company } },
    );
  }

  /**
   * A draft an earlier attempt left (its submit was refused, e.g. for a frozen or closed period, or its answer
   * was lost) holds that attempt's posting date; a replay may ask for another (the "today" rule, or a date a
   * person chose to leave the closed period). Submitting the draft as it is would book the old date, so its
   * dates are moved to the posting's first (the draft holds this posting's rows: #requireSamePosting).
   */
  async #redateDraft(draft: Doc, doctype: string, posting: PostingRequest, ctx: CallContext): Promise<Doc> {
    if (draft.posting_date === posting.postingDate) return draft;
    const date = posting.postingDate;
    const dates =
      doctype === PI
        ? { posting_date: date, set_posting_time: 1, due_date: date, bill_date: date }
        : { posting_date: date, cheque_date: date };
    return this.#api.put(doctype, draft, { ...dates, modified: draft.modified }, ctx);
  }

  /**
   * A payable is a Purchase Invoice to the supplier (for an expense report: the employee's own Supplier),
   * keyed by Supplier Invoice No `bill_no` (Data, 140) with `bill_date`, one item per line on the line's
   * expense account, cost center and project. `credit_to` is left to ERPNext, which takes the supplier's (or
   * the company's default) payable account. Lookup before insert; a draft left by an earlier attempt is
   * submitted, not inserted again, when it holds the posting (#requireSamePosting), moved to its posting date.
   */
  async #postInvoice(posting: PostingRequest, ctx: CallContext): Promise<PostingRef> {
    const reference = fitReference(posting.externalReference, FRAPPE_DATA_LENGTH);
    const existing = await this.findInvoice(reference, ctx);
    if (existing) await this.#match.requireSamePosting(existing, PI, posting, ctx);
    if (existing?.docstatus === 1) return this.#postingRef(existing);
    refuseTaxCodedExpenseLines(
      posting,
      'an ERPNext Purchase Invoice (its rate is net unless a tax row says otherwise)',
    );
    refuseRefundLines(posting);
    let draft = existing;
    if (!draft) {
      const supplier = await this.#payee(posting, ctx);
      const items: Doc[] = [];
      for (const [index, line] of posting.lines.entries()) {
        const where = `lines[${index}]`;
        const name = (line.description ?? posting.externalReference).slice(0, FRAPPE_DATA_LENGTH);
        items.push({
          item_code: this.#erp.defaultItem,
          item_name: name,
          description: line.description ?? posting.externalReference,
          qty: 1,
          uom: 'Nos',
          rate: jsonNumber(line.amount.amount, `${where}.amount`),
          ...(await this.#erp.dimensions(line.dimensions, where, ctx)),
        });
      }
      draft = await this.#api.insert(
        PI,
        {
          supplier,
          company: this.#erp.company,
          posting_date: posting.postingDate,
          // Without it ERPNext sets an invoice's posting date to today on save [U accounts_controller].
          set_posting_time: 1,
          due_date: posting.postingDate,
          currency: posting.currency,
          bill_no: reference,
          bill_date: posting.postingDate,
          remarks: `${posting.externalReference}${posting.employeeId ? ` (employee ${posting.employeeId})` : ''}`,
          items,
        },
        ctx,
      );
      this.#refuseAddedCharges(draft, posting);
    } else {
      draft = await this.#redateDraft(draft, PI, posting, ctx);
    }
    return this.#postingRef(await this.#submitOnce(PI, draft, posting, ctx));
  }

  /**
   * ERPNext may add rows of its own to a new invoice (a default Purchase Taxes and Charges Template, a Tax
   * Rule for the supplier): on the gross amounts of an expense report that owes the payee more than was paid.
   * So a new draft whose grand total is not the posting's is left unsubmitted, for a person.
   */
  #refuseAddedCharges(draft: Doc, posting: PostingRequest): void {
    const want = sum(
      posting.lines.map((line) => line.amount),
      posting.currency,
    );
    const held = this.#api.money(draft.grand_total, String(draft.currency), 'grand_total');
    if (sameAmount(held, want)) return;
    throw new FinanceError(
      'ERP_CONFLICT',
      `ERP "${this.#erp.system}" (ERPNext) made the new Purchase Invoice ${String(draft.name)} for ${posting.externalReference} total ${held.amount} ${held.currency}, but the posting totals ${want.amount} ${want.currency}: ERPNext added charges of its own (a default Purchase Taxes and Charges Template, or a Tax Rule for the supplier), which on amounts paid tax included would owe the payee more than was paid. The draft was not submitted. Remove the taxes from draft ${String(draft.name)} and submit it, or delete it and turn the default template or tax rule off for this supplier, then replay the posting.`,
      {
        retryable: false,
        details: { documentId: String(draft.name), externalReference: posting.externalReference, held, expected: want },
      },
    );
  }

  /** The Supplier paid: the posting's supplier, else the Supplier whose employee field names the employee. */
  async #payee(posting: PostingRequest, ctx: CallContext): Promise<string> {
    if (posting.supplierId) return posting.supplierId;
    if (!posting.employeeId) throw invalid('a payable needs supplierId or employeeId (whom the invoice is owed to)');
    const rows = await this.#api.list(
      'Supplier',
      { filters: [[this.#erp.employeeField, '=', posting.employeeId]], fields: ['name', 'disabled'], limit: 2 },
      ctx,
    );
    const live = rows.filter((row) => !row.disabled);
    if (live.length !== 1) {
      throw new FinanceError(
        'ERP_REJECTED',
        `ERP "${this.#erp.system}" (ERPNext) has ${live.length === 0 ? 'no' : 'more than one'} enabled Supplier with ${this.#erp.employeeField} = ${posting.employeeId}; create one Supplier per reimbursed employee and set its ${this.#erp.employeeField} (README "ERPNext"), then replay the dead letter.`,
        { details: { vendorCode: 'NO_EMPLOYEE_SUPPLIER', employeeId: posting.employeeId } },
      );
    }
    return String(live[0].name);
  }

  async findInvoice(reference: string, ctx: CallContext): Promise<Doc | undefined> {
    const rows = await this.#api.list(
      PI,
      {
        filters: [
          ['bill_no', '=', reference],
          ['company', '=', this.#erp.company],
          ['docstatus', '!=', 2],
        ],
        fields: ['name'],
        limit: 1,
      },
      ctx,
    );
    return rows[0] ? this.#api.get(PI, String(rows[0].name), ctx) : undefined;
  }

  /**
   * Submits the draft; when someone saved it in between (TimestampMismatchError, 412 here) it is read again
   * and submitted with its new `modified`, or taken as it is when that save already submitted it; either only
   * while it still holds the posting's total, as that save may have changed it.
   */
  async #submitOnce(doctype: string, draft: Doc, posting: PostingRequest, ctx: CallContext): Promise<Doc> {
    try {
      return await this.#api.submit(doctype, draft, ctx);
    } catch (error) {
      if (isRefused(error)) throw draftLeft(error, doctype, String(draft.name), posting.postingDate);
      if (!isStale(error)) throw error;
      const current = await this.#api.get(doctype, String(draft.name), ctx);
      if (!current) throw error;
      await this.#match.requireSamePosting(current, doctype, posting, ctx);
      if (current.docstatus === 1) return current;
      return this.#api.submit(doctype, current, ctx);
    }
  }

  async findJournal(reference: string, ctx: CallContext): Promise<Doc | undefined> {
    const rows = await this.#api.list(
      'Journal Entry',
      {
        filters: [
          ['cheque_no', '=', reference],
          ['company', '=', this.#erp.company],
          ['docstatus', '!=', 2],
        ],
        fields: ['name'],
        limit: 1,
      },
      ctx,
    );
    return rows[0] ? this.#api.get('Journal Entry', String(rows[0].name), ctx) : undefined;
  }

  #postingRef(doc: Doc): PostingRef {
    const currency = typeof doc.currency === 'string' ? doc.currency : undefined;
    return {
      ...this.#erp.ref(doc, 'posting'),
      ...(currency
        ? { total: this.#api.money(doc.doctype === PI ? doc.grand_total : doc.total_debit, currency, 'total') }
        : {}),
      postedAt: String(doc.modified),
    };
  }

  /**
   * The ledger's lookup of a posting (ErpDialect.findPosting): a submitted document of the posting's kind that
   * holds its total and rows; another is an ERP_CONFLICT (#requireSamePosting). A draft is not a posting: null, and
   * post() checks it and submits it. A lookup writes nothing.
   */
  async findPosting(posting: PostingRequest, ctx: CallContext): Promise<FoundDocument | null> {
    const reference = fitReference(posting.externalReference, FRAPPE_DATA_LENGTH);
    const doctype = posting.kind === 'payable' ? PI : 'Journal Entry';
    const doc =
      posting.kind === 'payable' ? await this.findInvoice(reference, ctx) : await this.findJournal(reference, ctx);
    if (doc?.docstatus !== 1) return null;
    await this.#match.requireSamePosting(doc, doctype, posting, ctx);
    return { ...this.#postingRef(doc), raw: doc };
  }
}

/**
 * ERPNext refuses a Purchase Invoice item with a negative rate unless the invoice is a return (`is_return`,
 * a debit note against an earlier invoice) or Buying Settings "Allow Negative rates for Items" is on
 * [S erpnext controllers/status_updater.py, frappe/erpnext#54254]; this dialect sends no returns, so a refund line is refused before anything
 * is written. A 0.00 line is sent as an item of rate 0, which ERPNext takes.
 */
function refuseRefundLines(posting: PostingRequest): void {
  const refunds = posting.lines.filter((line) => minorOf(line.amount) < 0n);
  if (refunds.length === 0) return;
  const lines = refunds.map((line) => `${line.lineId} (${line.amount.amount} ${line.amount.currency})`).join(', ');
  throw new FinanceError(
    'SCHEMA_INVALID',
    `Posting ${posting.externalReference}: line ${lines} is negative (a refund), but an ERPNext Purchase Invoice ` +
      'takes no negative rate outside a return (ERPNext: "rate must be a positive number"), and this dialect ' +
      'sends no returns. Nothing was written. Post the report as a journal (finance-post "Post as": journal, ' +
      'which credits refunds), net the refund into another line in the mapping, or book it by hand.',
    {
      retryable: false,
      details: {
        externalReference: posting.externalReference,
        lines: refunds.map((line) => ({ lineId: line.lineId, amount: line.amount })),
      },
    },
  );
}

/**
 * ERPNext refused to submit a posting's draft (a frozen or closed period, a date in no fiscal year, its budget):
 * the refusal as it is, saying that the draft stays and what a replay does with it.
 */
function draftLeft(refusal: FinanceError, doctype: string, name: string, postingDate: string): FinanceError {
  return new FinanceError(
    refusal.code,
    `${refusal.message} (${doctype} ${name}, posting date ${postingDate}, stays a draft in ERPNext: a replay submits it again, with the posting date it then asks for; or delete it in ERPNext.)`,
    {
      httpStatus: refusal.httpStatus,
      retryable: refusal.retryable,
      retryAfterMs: refusal.retryAfterMs,
      details: { ...refusal.details, documentId: name, doctype, draftLeft: true },
      cause: refusal,
    },
  );
}
