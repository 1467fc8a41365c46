/**
 * The ERPNext doctype fields the dialect writes and reads, transcribed from the doctype definitions in
 * frappe/erpnext (the published "metadata" of a Frappe app), with where each list came from. Only the
 * fields the pack touches are listed; `reqd` and `read_only` are as the JSON says. Data fields hold 140
 * characters (Frappe's default length for Data).
 *
 * - Purchase Order: erpnext/buying/doctype/purchase_order/purchase_order.json @ 009e04270a2185255d7c0c330ea8bc04bc470a77
 * - Purchase Order Item: erpnext/buying/doctype/purchase_order_item/purchase_order_item.json @ 0147312951db8a426cbfdfc0b1221a9e80951f44
 * - Budget: erpnext/accounts/doctype/budget/budget.json @ 0637e2eb429387c3a34f4ab72a8df2312b37ca60 (modified 2025-12-10)
 * - Journal Entry: erpnext/accounts/doctype/journal_entry/journal_entry.json @ 00c7dbceaab6a676e31a0214feb4b083f249c019
 * - Journal Entry Account: from the ERPNext user manual and API examples, not read from its JSON [D/U]; party_type
 *   (Link to Party Type) and party (Dynamic Link) as journal_entry.py validate_party reads them [S]
 * - Purchase Invoice: erpnext/accounts/doctype/purchase_invoice/purchase_invoice.json @ 89466e00b1625a9551ffc8beb611a04ab1ffd120
 *   (modified 2018-10-29; `supplier` and `company` are not `reqd` in the JSON, the controller requires them;
 *   `credit_to` is `reqd` and filled by the server from the supplier's or the company's payable account)
 * - Purchase Invoice Item: erpnext/accounts/doctype/purchase_invoice_item/purchase_invoice_item.json @ 05c13711d11be43de7cc94187e89031a126ccf3d
 *   (`conversion_factor` is read-only there: the server sets it, so it is not sent)
 * - Supplier: only the fields the payable lookup reads, from the ERPNext manual [D/U]; `custom_employee` is the
 *   Custom Field (Link to Employee) the README asks the administrator to add [setup]
 * - Budget Distribution (the monthly rows of the 2025 Budget model): start_date, end_date, amount, percent are
 *   assumed [U]; the stored budget_distribution.json is the 2014 standalone doctype of the same name
 * - the Custom Field `custom_external_ref` (Data) is what the README asks the administrator to add [setup].
 * - Fiscal Year: erpnext/accounts/doctype/fiscal_year/fiscal_year.json @ 00cc94e84f53872f4536669b3ea8ff43c1f2042c
 *   (modified 2024-05-27; named by `year` (autoname field:year), so `name` is the Year Name)
 * - Fiscal Year Company: erpnext/accounts/doctype/fiscal_year_company/fiscal_year_company.json @ 03c6b744da21198ace3ea46d479b58fe5c391bac
 *   (modified 2014-10-02; one field, `company`)
 */
export interface FieldSpec {
  fieldtype:
    | 'Data'
    | 'Link'
    | 'Dynamic Link'
    | 'Date'
    | 'Float'
    | 'Currency'
    | 'Select'
    | 'Check'
    | 'Table'
    | 'Text Editor'
    | 'Small Text'
    | 'Int';
  reqd?: boolean;
  read_only?: boolean;
  options?: string;
  /** Set by the server when the client leaves it out (defaults, naming, validate). */
  serverFills?: boolean;
}

export const DATA_LENGTH = 140;

export const DOCTYPES: Record<string, Record<string, FieldSpec>> = {
  'Purchase Order': {
    naming_series: { fieldtype: 'Select', reqd: true, options: 'PUR-ORD-.YYYY.-', serverFills: true },
    title: { fieldtype: 'Data', reqd: true, serverFills: true },
    supplier: { fieldtype: 'Link', reqd: true, options: 'Supplier' },
    supplier_name: { fieldtype: 'Data', read_only: true },
    company: { fieldtype: 'Link', reqd: true, options: 'Company' },
    transaction_date: { fieldtype: 'Date', reqd: true },
    schedule_date: { fieldtype: 'Date' },
    currency: { fieldtype: 'Link', reqd: true, options: 'Currency' },
    conversion_rate: { fieldtype: 'Float', reqd: true, serverFills: true },
    cost_center: { fieldtype: 'Link', options: 'Cost Center' },
    project: { fieldtype: 'Link', options: 'Project' },
    items: { fieldtype: 'Table', reqd: true, options: 'Purchase Order Item' },
    amended_from: { fieldtype: 'Link', read_only: true, options: 'Purchase Order' },
    total: { fieldtype: 'Currency', read_only: true },
    net_total: { fieldtype: 'Currency', read_only: true },
    grand_total: { fieldtype: 'Currency', read_only: true },
    base_grand_total: { fieldtype: 'Currency', read_only: true },
    status: { fieldtype: 'Select', read_only: true },
    per_received: { fieldtype: 'Float', read_only: true },
    per_billed: { fieldtype: 'Float', read_only: true },
    custom_external_ref: { fieldtype: 'Data' },
  },
  'Purchase Order Item': {
    item_code: { fieldtype: 'Link', reqd: true, options: 'Item' },
    item_name: { fieldtype: 'Data', reqd: true },
    description: { fieldtype: 'Text Editor' },
    schedule_date: { fieldtype: 'Date', reqd: true },
    qty: { fieldtype: 'Float', reqd: true },
    uom: { fieldtype: 'Link', reqd: true, options: 'UOM' },
    stock_uom: { fieldtype: 'Link', reqd: true, read_only: true, serverFills: true },
    conversion_factor: { fieldtype: 'Float', reqd: true },
    rate: { fieldtype: 'Currency' },
    amount: { fieldtype: 'Currency', read_only: true },
    base_amount: { fieldtype: 'Currency', read_only: true },
    expense_account: { fieldtype: 'Link', options: 'Account' },
    cost_center: { fieldtype: 'Link', options: 'Cost Center' },
    project: { fieldtype: 'Link', options: 'Project' },
    item_tax_template: { fieldtype: 'Link', options: 'Item Tax Template' },
    received_qty: { fieldtype: 'Float', read_only: true },
    billed_amt: { fieldtype: 'Currency', read_only: true },
  },
  Budget: {
    budget_against: { fieldtype: 'Select', reqd: true, options: '\nCost Center\nProject' },
    company: { fieldtype: 'Link', reqd: true },
    cost_center: { fieldtype: 'Link' },
    project: { fieldtype: 'Link' },
    account: { fieldtype: 'Link', reqd: true },
    from_fiscal_year: { fieldtype: 'Link', reqd: true },
    to_fiscal_year: { fieldtype: 'Link', reqd: true },
    distribution_frequency: { fieldtype: 'Select', reqd: true, options: 'Monthly\nQuarterly\nHalf-Yearly\nYearly' },
    distribute_equally: { fieldtype: 'Check' },
    budget_amount: { fieldtype: 'Currency', reqd: true },
    budget_distribution: { fieldtype: 'Table', options: 'Budget Distribution' },
    applicable_on_purchase_order: { fieldtype: 'Check' },
    action_if_annual_budget_exceeded_on_po: { fieldtype: 'Select', options: '\nStop\nWarn\nIgnore' },
    action_if_accumulated_monthly_budget_exceeded_on_po: { fieldtype: 'Select', options: '\nStop\nWarn\nIgnore' },
    applicable_on_booking_actual_expenses: { fieldtype: 'Check' },
    action_if_annual_budget_exceeded: { fieldtype: 'Select', options: '\nStop\nWarn\nIgnore' },
    action_if_accumulated_monthly_budget_exceeded: { fieldtype: 'Select', options: '\nStop\nWarn\nIgnore' },
  },
  'Budget Distribution': {
    start_date: { fieldtype: 'Date' },
    end_date: { fieldtype: 'Date' },
    amount: { fieldtype: 'Currency' },
    percent: { fieldtype: 'Float' },
  },
  'Journal Entry': {
    voucher_type: { fieldtype: 'Select', reqd: true },
    naming_series: { fieldtype: 'Select', reqd: true, options: 'ACC-JV-.YYYY.-', serverFills: true },
    company: { fieldtype: 'Link', reqd: true },
    posting_date: { fieldtype: 'Date', reqd: true },
    accounts: { fieldtype: 'Table', reqd: true, options: 'Journal Entry Account' },
    cheque_no: { fieldtype: 'Data' },
    cheque_date: { fieldtype: 'Date' },
    user_remark: { fieldtype: 'Small Text' },
    total_debit: { fieldtype: 'Currency', read_only: true },
    total_credit: { fieldtype: 'Currency', read_only: true },
  },
  'Purchase Invoice': {
    naming_series: { fieldtype: 'Select', reqd: true, options: 'ACC-PINV-.YYYY.-', serverFills: true },
    title: { fieldtype: 'Data', serverFills: true },
    supplier: { fieldtype: 'Link', options: 'Supplier' },
    supplier_name: { fieldtype: 'Data', read_only: true },
    due_date: { fieldtype: 'Date' },
    company: { fieldtype: 'Link', options: 'Company' },
    cost_center: { fieldtype: 'Link', options: 'Cost Center' },
    posting_date: { fieldtype: 'Date', reqd: true },
    set_posting_time: { fieldtype: 'Check' },
    amended_from: { fieldtype: 'Link', read_only: true, options: 'Purchase Invoice' },
    bill_no: { fieldtype: 'Data' },
    bill_date: { fieldtype: 'Date' },
    currency: { fieldtype: 'Link', options: 'Currency' },
    conversion_rate: { fieldtype: 'Float' },
    items: { fieldtype: 'Table', reqd: true, options: 'Purchase Invoice Item' },
    total: { fieldtype: 'Currency', read_only: true },
    net_total: { fieldtype: 'Currency', read_only: true },
    grand_total: { fieldtype: 'Currency', read_only: true },
    base_grand_total: { fieldtype: 'Currency', read_only: true },
    outstanding_amount: { fieldtype: 'Currency', read_only: true },
    credit_to: { fieldtype: 'Link', reqd: true, options: 'Account', serverFills: true },
    status: {
      fieldtype: 'Select',
      options: '\nDraft\nReturn\nDebit Note Issued\nSubmitted\nPaid\nUnpaid\nOverdue\nCancelled',
      serverFills: true,
    },
    remarks: { fieldtype: 'Small Text' },
  },
  'Purchase Invoice Item': {
    item_code: { fieldtype: 'Link', options: 'Item' },
    item_name: { fieldtype: 'Data', reqd: true },
    description: { fieldtype: 'Text Editor' },
    qty: { fieldtype: 'Float', reqd: true },
    uom: { fieldtype: 'Link', reqd: true, options: 'UOM' },
    conversion_factor: { fieldtype: 'Float', reqd: true, read_only: true, serverFills: true },
    stock_uom: { fieldtype: 'Link', read_only: true, options: 'UOM' },
    rate: { fieldtype: 'Currency', reqd: true },
    amount: { fieldtype: 'Currency', reqd: true, read_only: true },
    expense_account: { fieldtype: 'Link', options: 'Account' },
    cost_center: { fieldtype: 'Link', options: 'Cost Center' },
    project: { fieldtype: 'Link', options: 'Project' },
    item_tax_template: { fieldtype: 'Link', options: 'Item Tax Template' },
  },
  Supplier: {
    supplier_name: { fieldtype: 'Data', reqd: true },
    disabled: { fieldtype: 'Check' },
    custom_employee: { fieldtype: 'Link', options: 'Employee' },
  },
  'Fiscal Year': {
    year: { fieldtype: 'Data', reqd: true },
    disabled: { fieldtype: 'Check' },
    is_short_year: { fieldtype: 'Check' },
    year_start_date: { fieldtype: 'Date', reqd: true },
    year_end_date: { fieldtype: 'Date', reqd: true },
    companies: { fieldtype: 'Table', options: 'Fiscal Year Company' },
    auto_created: { fieldtype: 'Check', read_only: true },
  },
  'Fiscal Year Company': {
    company: { fieldtype: 'Link', options: 'Company' },
  },
  'Journal Entry Account': {
    account: { fieldtype: 'Link', reqd: true, options: 'Account' },
    // Required by the controller on a Receivable / Payable account (journal_entry.py validate_party) [S].
    party_type: { fieldtype: 'Link', options: 'Party Type' },
    party: { fieldtype: 'Dynamic Link', options: 'party_type' },
    // Fetched from the Account (fetch_from account.account_type) [D/U].
    account_type: { fieldtype: 'Select', read_only: true },
    debit_in_account_currency: { fieldtype: 'Currency' },
    credit_in_account_currency: { fieldtype: 'Currency' },
    debit: { fieldtype: 'Currency', read_only: true },
    credit: { fieldtype: 'Currency', read_only: true },
    cost_center: { fieldtype: 'Link' },
    project: { fieldtype: 'Link' },
    user_remark: { fieldtype: 'Small Text' },
  },
};

/** Standard fields every Frappe document and child row carries [S frappe/model/__init__.py default_fields]. */
export const STANDARD_FIELDS = [
  'doctype',
  'name',
  'owner',
  'creation',
  'modified',
  'modified_by',
  'docstatus',
  'idx',
  'parent',
  'parentfield',
  'parenttype',
];

/** Problems of a body the dialect sends: unknown or read-only fields, missing required ones, over-long Data, wrong types. */
export function bodyProblems(
  doctype: string,
  body: Record<string, unknown>,
  kind: 'insert' | 'update',
  where = doctype,
): string[] {
  const fields = DOCTYPES[doctype];
  const problems: string[] = [];
  for (const [name, value] of Object.entries(body)) {
    if (name === 'docstatus' || name === 'modified') continue;
    const spec = fields[name];
    if (!spec) {
      problems.push(`${where}.${name}: not a field of ${doctype}`);
      continue;
    }
    if (spec.read_only && !(name === 'amended_from' && kind === 'insert')) problems.push(`${where}.${name}: read only`);
    if (spec.fieldtype === 'Table') {
      if (!Array.isArray(value)) problems.push(`${where}.${name}: a table needs an array`);
      else
        value.forEach((row, i) =>
          problems.push(
            ...bodyProblems(spec.options!, row as Record<string, unknown>, 'insert', `${where}.${name}[${i}]`),
          ),
        );
      continue;
    }
    if (
      (spec.fieldtype === 'Data' || spec.fieldtype === 'Link') &&
      (typeof value !== 'string' || value.length > DATA_LENGTH)
    ) {
      problems.push(`${where}.${name}: not a string of at most ${DATA_LENGTH} characters`);
    }
    if ((spec.fieldtype === 'Float' || spec.fieldtype === 'Currency') && typeof value !== 'number')
      problems.push(`${where}.${name}: not a number`);
    if (spec.fieldtype === 'Date' && (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(value)))
      problems.push(`${where}.${name}: not a date`);
    if (spec.fieldtype === 'Select' && spec.options && !spec.options.split('\n').includes(String(value)))
      problems.push(`${where}.${name}: not one of its options`);
  }
  if (kind === 'insert') {
    for (const [name, spec] of Object.entries(fields)) {
      if (spec.reqd && !spec.serverFills && !spec.read_only && body[name] === undefined)
        problems.push(`${where}.${name}: required and missing`);
    }
  }
  return problems;
}

/** Problems of a document the simulator answers: every field must be a standard field or one listed. */
export function docProblems(doctype: string, doc: Record<string, unknown>, known: readonly string[] = []): string[] {
  const fields = DOCTYPES[doctype];
  const problems: string[] = [];
  for (const [name, value] of Object.entries(doc)) {
    if (STANDARD_FIELDS.includes(name) || known.includes(name)) continue;
    const spec = fields[name];
    if (!spec) problems.push(`${doctype}.${name}: not a listed field`);
    else if (spec.fieldtype === 'Table' && Array.isArray(value))
      value.forEach((row) => problems.push(...docProblems(spec.options!, row as Record<string, unknown>, known)));
  }
  return problems;
}
