/**
 * The ERPNext dialect and simulator against the doctype field lists of frappe/erpnext (see erpnext-doctypes.ts
 * for the files and commits they come from): every insert and update the dialect sends uses fields the
 * doctype has, leaves read-only fields alone, gives every required field the server does not fill, fits Data
 * fields into 140 characters and Select fields into their options; every list query filters and selects
 * fields that exist; every document the simulator answers has only listed fields.
 */
import { line } from '../purchasing/fixtures';
import { erpnextConnection, erpnextPurchaseOrder } from '../dialects/erpnext-fixtures';
import { ctx, currentPeriod, startDialectRig, today, type DialectRig, type Exchange } from '../dialects/harness';
import { DOCTYPES, STANDARD_FIELDS, bodyProblems, docProblems } from './erpnext-doctypes';

const eur = (amount: string) => ({ amount, currency: 'EUR' });
/** Doctypes the dialect only reads (master data, lookups); their fields are checked by name only where listed. */
const READ_ONLY_DOCTYPES = ['Account', 'Cost Center', 'Supplier', 'Employee', 'Project', 'GL Entry'];

/**
 * Problems of a list query: filters (also child-table filters) and selected fields (also `` `tabChild`.field as
 * alias ``) that the doctypes lack; and the aliases it selects, which its answer rows carry as field names.
 */
function listProblems(
  doctype: string,
  query: Record<string, unknown>,
  where = `GET ${doctype}`,
): { problems: string[]; aliases: string[] } {
  const problems: string[] = [];
  const aliases: string[] = [];
  for (const filter of JSON.parse(String(query.filters ?? '[]')) as unknown[][]) {
    const [childDoctype, field] =
      filter.length === 4 ? [String(filter[0]), String(filter[1])] : [doctype, String(filter[0])];
    if (!DOCTYPES[childDoctype]?.[field] && !STANDARD_FIELDS.includes(field))
      problems.push(`${where}: filter on unknown ${childDoctype}.${field}`);
  }
  for (const field of JSON.parse(String(query.fields ?? '[]')) as string[]) {
    const child = /^`tab([^`]+)`\.(\w+)/.exec(field);
    const [owner, fieldName] = child ? [child[1], child[2]] : [doctype, field];
    if (!DOCTYPES[owner]?.[fieldName] && !STANDARD_FIELDS.includes(fieldName))
      problems.push(`${where}: selects unknown ${owner}.${fieldName}`);
    const alias = / as (\w+)$/.exec(field);
    if (alias) aliases.push(alias[1]);
  }
  return { problems, aliases };
}

function check(exchanges: readonly Exchange[]): { problems: string[]; covered: Set<string> } {
  const problems: string[] = [];
  const covered = new Set<string>();
  for (const { request, response } of exchanges) {
    const [doctype, name] = request.path.replace('/api/resource/', '').split('/').map(decodeURIComponent);
    const where = `${request.method} ${doctype}${name ? `/${name}` : ''}`;
    covered.add(`${request.method} ${doctype}`);
    if (request.method === 'POST' || request.method === 'PUT') {
      problems.push(
        ...bodyProblems(
          doctype,
          request.body as Record<string, unknown>,
          request.method === 'POST' ? 'insert' : 'update',
          where,
        ),
      );
    }
    const fields = DOCTYPES[doctype];
    const aliases: string[] = [];
    if (request.method === 'GET' && request.query?.filters && fields) {
      const list = listProblems(doctype, request.query, where);
      problems.push(...list.problems);
      aliases.push(...list.aliases);
      covered.add(`GET ${doctype} list checked`);
    }
    const data = (response?.data as { data?: unknown })?.data;
    if (fields && data && !READ_ONLY_DOCTYPES.includes(doctype)) {
      const docs = Array.isArray(data) ? data : [data];
      for (const doc of docs)
        problems.push(
          ...docProblems(doctype, doc as Record<string, unknown>, ['currency_of_company', ...aliases]).map(
            (p) => `${where} answer: ${p}`,
          ),
        );
    }
  }
  return { problems, covered };
}

describe('ERPNext dialect and simulator against the frappe/erpnext doctype fields', () => {
  let rig: DialectRig;
  beforeAll(async () => {
    rig = await startDialectRig(erpnextConnection());
  });
  afterAll(() => rig.close());

  it('writes only fields the doctypes have, with every required one, and reads documents of listed fields', async () => {
    const reference = `coupa:PurchaseOrder:${'X'.repeat(150)}:1`;
    const created = await rig.dialect.upsertPurchaseOrder(erpnextPurchaseOrder(reference), ctx);
    const changed = await rig.dialect.upsertPurchaseOrder(
      erpnextPurchaseOrder(reference, { orderDate: `${currentPeriod()}-01` }),
      ctx,
    );
    await rig.dialect.patchPurchaseOrder(
      changed.documentId,
      {
        lines: [
          line({ lineId: 'P', accountAssignments: [{ dimensions: { project: 'PRJ-2002', glAccount: '6400' } }] }),
        ],
      },
      changed.version!,
      ctx,
    );
    await rig.dialect.cancelPurchaseOrder({ externalReference: reference }, ctx);
    await rig.dialect.post(
      {
        kind: 'journal',
        externalReference: 'metadata-journal',
        employeeId: 'E1010',
        postingDate: today(),
        currency: 'EUR',
        lines: [
          { lineId: '1', amount: eur('1.00'), dimensions: { costCenter: 'CC-100', glAccount: '6000' } },
          // A refund: a credit row on the expense account.
          { lineId: '2', amount: eur('-0.40'), dimensions: { costCenter: 'CC-100', glAccount: '6000' } },
        ],
      },
      ctx,
    );
    await rig.dialect.post(
      {
        kind: 'payable',
        externalReference: `cloudevents:ExpenseReport:${'Z'.repeat(150)}`,
        employeeId: 'E1010',
        postingDate: today(),
        currency: 'EUR',
        lines: [
          {
            lineId: '1',
            amount: eur('1.00'),
            dimensions: { costCenter: 'CC-100', glAccount: '6000', project: 'PRJ-2001' },
            description: 'D'.repeat(200),
          },
        ],
      },
      ctx,
    );
    await rig.dialect.checkBudget(
      { costCenter: 'CC-100', glAccount: '6300', period: currentPeriod(), amount: eur('1.00') },
      ctx,
    );
    await rig.dialect.checkBudget({ project: 'PRJ-2001', period: currentPeriod(), amount: eur('1.00') }, ctx);
    expect(created.documentId).toBeDefined();
    const { problems, covered } = check(rig.http.exchanges);
    expect(problems).toEqual([]);
    expect([...covered]).toEqual(
      expect.arrayContaining([
        'POST Purchase Order',
        'PUT Purchase Order',
        'GET Purchase Order',
        'POST Journal Entry',
        'PUT Journal Entry',
        'GET Supplier',
        'POST Purchase Invoice',
        'PUT Purchase Invoice',
        'GET Purchase Invoice',
        'GET Budget',
        'GET GL Entry',
        'GET Fiscal Year list checked',
      ]),
    );
  });

  it('checks the Fiscal Year list fields and filters, child table too (the check can fail)', () => {
    expect(
      listProblems('Fiscal Year', {
        filters: JSON.stringify([
          ['enabled', '=', 1],
          ['Fiscal Year Company', 'company', '=', 'FS-DEMO'],
        ]),
        fields: JSON.stringify(['name', 'year_start_date', 'end_date', '`tabFiscal Year Company`.company_name as c']),
      }).problems,
    ).toEqual([
      'GET Fiscal Year: filter on unknown Fiscal Year.enabled',
      'GET Fiscal Year: selects unknown Fiscal Year.end_date',
      'GET Fiscal Year: selects unknown Fiscal Year Company.company_name',
    ]);
  });

  it('catches a read-only or unknown invoice field and an over-long Supplier Invoice No (the check can fail)', () => {
    expect(
      bodyProblems(
        'Purchase Invoice',
        {
          supplier: 'S',
          posting_date: '2026-01-01',
          bill_no: 'b'.repeat(141),
          project: 'P',
          items: [{ item_name: 'x', qty: 1, uom: 'Nos', rate: 1, conversion_factor: 1 }],
        },
        'insert',
      ),
    ).toEqual([
      'Purchase Invoice.bill_no: not a string of at most 140 characters',
      'Purchase Invoice.project: not a field of Purchase Invoice',
      'Purchase Invoice.items[0].conversion_factor: read only',
    ]);
  });

  it('catches an unknown field, a read-only one, a missing required one and an over-long reference (the check can fail)', () => {
    expect(
      bodyProblems(
        'Purchase Order',
        {
          supplier: 'S',
          company: 'C',
          currency: 'EUR',
          grand_total: 1,
          external_ref: 'x',
          custom_external_ref: 'y'.repeat(141),
          items: [{ item_code: 'I', qty: '1' }],
        },
        'insert',
      ),
    ).toEqual([
      'Purchase Order.grand_total: read only',
      'Purchase Order.external_ref: not a field of Purchase Order',
      'Purchase Order.custom_external_ref: not a string of at most 140 characters',
      'Purchase Order.items[0].qty: not a number',
      'Purchase Order.items[0].item_name: required and missing',
      'Purchase Order.items[0].schedule_date: required and missing',
      'Purchase Order.items[0].uom: required and missing',
      'Purchase Order.items[0].conversion_factor: required and missing',
      'Purchase Order.transaction_date: required and missing',
    ]);
  });
});
