/**
 * The Concur profile against the real samples and schemas in ../shared/specs/concur/: the three
 * statusChanged sample events, the GET report sample, and the EntryGet model of the v3.0 Entries swagger.
 */
import { createConcurProfile, type ConcurProfileOptions } from '../../../lib/sources/profiles/concur';
import type { ExpenseReport } from '../../../lib/model/types';
import { financeErrorOf, readSpec } from './helpers';

type Json = Record<string, any>;

/** The sample events: the ```json block of v4.expense-events.md holds three objects separated by commas. */
function sampleEvents(): Json[] {
  const markdown = readSpec('v4.expense-events.md');
  const block = /## <a name="sample-events"><\/a>Sample Events\s+```json\n([\s\S]*?)\n```/.exec(markdown);
  if (!block) throw new Error('sample events block not found in v4.expense-events.md');
  return JSON.parse(`[${block[1]}]`) as Json[];
}

/** The response of "Retrieve a Report by ID" in v4.reports.markdown. */
function sampleReport(): Json {
  const markdown = readSpec('v4.reports.markdown');
  const block = /200 OK\n\n(\{[\s\S]*?\n\})\n```/.exec(markdown);
  if (!block) throw new Error('report sample not found in v4.reports.markdown');
  return JSON.parse(block[1]) as Json;
}

/** Field names of a schema table ("### <a name="report-details-schema">...") in a Concur markdown page. */
function schemaTableFields(markdown: string, anchor: string): string[] {
  const start = markdown.indexOf(`<a name="${anchor}"></a>`);
  const section = markdown.slice(start, markdown.indexOf('\n### ', start + 1));
  return [...section.matchAll(/^\|`([A-Za-z0-9]+)`\|/gm)].map((match) => match[1]);
}

function entryGetModel(): Json {
  return (JSON.parse(readSpec('concur-v3.0-Entries.swagger.json')) as Json).models;
}

/** Entries shaped like EntryGet for the sample report (USD 525.00 claimed): two business expenses and a personal one. */
function sampleEntries(reportId: string): Json {
  const base = { ReportID: reportId, ReportOwnerID: 'jdoe@example.com', IsPersonal: false, HasExceptions: false };
  return {
    Items: [
      {
        ...base,
        ID: 'gWqSc$sAw3vAGu6lgaJTdDOG4ukwS4MIg2hQ',
        ExpenseTypeCode: 'OFCSP',
        ExpenseTypeName: 'Office Supplies',
        TransactionDate: '2020-03-11T00:00:00',
        PostedAmount: 400,
        TransactionAmount: 400,
        TransactionCurrencyCode: 'USD',
        VendorDescription: 'Facility Cleaners Inc.',
        Description: 'Deep cleaning',
        HasImage: true,
        Custom1: { Type: 'List', Code: 'CC-300', Value: 'Facilities', ListItemID: 'gWq...' },
      },
      {
        ...base,
        ID: 'gWqSc$sAw3vAGu6lgaJTdDOG4ukwS4MIg2hR',
        ExpenseTypeCode: 'MISCS',
        ExpenseTypeName: 'Miscellaneous',
        TransactionDate: '2020-03-12',
        PostedAmount: 125,
        VendorDescription: null,
        VendorListItemName: 'Home Depot',
        HasImage: false,
        HasExceptions: true,
        Custom1: null,
      },
      {
        ...base,
        ID: 'gWqSc$sAw3vAGu6lgaJTdDOG4ukwS4MIg2hS',
        ExpenseTypeCode: 'BUSML',
        TransactionDate: '2020-03-13',
        PostedAmount: 30.5,
        IsPersonal: true,
      },
    ],
    NextPage: null,
  };
}

const OPTIONS: ConcurProfileOptions = {
  costCenterField: 'custom1',
  projectField: 'custom16',
  glAccountByExpenseType: { OFCSP: '6800', MISCS: '6900' },
  company: 'FS-DEMO',
};

function mapSample(
  changeReport: (report: Json) => void = () => undefined,
  changeEntries: (entries: Json) => void = () => undefined,
  options: ConcurProfileOptions = OPTIONS,
): ExpenseReport {
  const report = sampleReport();
  changeReport(report);
  const entries = sampleEntries('764428DD6A664AF0BFCB');
  changeEntries(entries);
  return createConcurProfile(options).toCanonical(report, { lines: entries }) as ExpenseReport;
}

describe('the Concur profile envelope', () => {
  const profile = createConcurProfile();

  it('reads every sample statusChanged event of the spec', () => {
    const [submitted, approved, sentBack] = sampleEvents().map((event) => profile.envelopeOf(event));
    expect(submitted).toEqual({
      id: '0490b3fb-04ad-4919-b299-afb9fa75e07c',
      source: 'concur:685fa226-b72d-47f9-b9ad-e621de12d094',
      type: 'concur.expense.report.statusChanged',
      subject: '57EE1FDA348046E8A08B',
      time: '2021-03-18T23:11:51.034Z',
      docType: 'ExpenseReport',
      docId: '57EE1FDA348046E8A08B',
      correlationId: '7e38939d-62f1-4bb4-9eef-5ea71fcbb1d8',
      documentUrl:
        'https://us.api.concursolutions.com/expensereports/v4/users/08a39ab2-9998-465d-b2f7-588dbe636ce2/context/TRAVELER/reports/57EE1FDA348046E8A08B',
    });
    expect(approved).toMatchObject({ id: '3eabdcbf-07df-4acd-99de-7f5aef0f673d', docId: '1B5A6194DFB047DAB0BD' });
    expect(sentBack).toMatchObject({ id: 'be3a6976-00e7-4b06-9c95-b4f2c3330ea6', docId: '1B5A6194DFB047DAB0BD' });
    // Two events about the same report stay distinct: the de-duplication key is source + event id.
    expect(`${approved.source}|${approved.id}`).not.toBe(`${sentBack.source}|${sentBack.id}`);
  });

  it('accepts "Facts" as the schema table spells it', () => {
    const event = sampleEvents()[0];
    event.Facts = event.facts;
    delete event.facts;
    expect(profile.envelopeOf(event).docId).toBe('57EE1FDA348046E8A08B');
  });

  it('declares that the report must be fetched and a signed relay in front of it', () => {
    expect(profile.embedsCanonical).toBe(false);
    expect(profile.signatureScheme).toBe('generic');
    expect(profile.docType).toBe('ExpenseReport');
  });

  it.each([
    ['/topic', (event: Json) => (event.topic = 'public.concur.travel.request')],
    ['/eventType', (event: Json) => delete event.eventType],
    ['/id', (event: Json) => (event.id = 12)],
    ['/facts', (event: Json) => delete event.facts],
    ['/facts/reportId', (event: Json) => delete event.facts.reportId],
    ['/facts/companyId', (event: Json) => (event.facts.companyId = '')],
    ['/timeStamp', (event: Json) => (event.timeStamp = '18/03/2021 23:11')],
  ])('rejects an event with a bad %s, naming it', (path, change) => {
    const event = sampleEvents()[0];
    change(event);
    const error = financeErrorOf(() => profile.envelopeOf(event));
    expect(error.code).toBe('SCHEMA_INVALID');
    expect(error.message).toContain(`Concur expense event ${path}:`);
    expect(error.message).toContain('public.concur.expense.report');
  });

  it('rejects a body that is not an object', () => {
    for (const body of [null, 'event', [sampleEvents()[0]]]) {
      expect(financeErrorOf(() => profile.envelopeOf(body)).code).toBe('SCHEMA_INVALID');
    }
  });
});

describe('the Concur report mapping', () => {
  it('maps the spec sample report with its expenses into a canonical ExpenseReport', () => {
    const report = mapSample();
    expect(report).toEqual({
      docType: 'ExpenseReport',
      sourceRef: { system: 'concur', id: '764428DD6A664AF0BFCB', version: 0 },
      reportId: '764428DD6A664AF0BFCB',
      name: 'March Expenses',
      businessPurpose: 'Facility cleaning and renovation',
      employeeId: '32c2fcc3-b2e8-4907-9672-5b3f49b1c643',
      company: 'FS-DEMO',
      state: 'draft',
      total: { amount: '525.00', currency: 'USD' },
      lines: [
        {
          lineId: 'gWqSc$sAw3vAGu6lgaJTdDOG4ukwS4MIg2hQ',
          date: '2020-03-11',
          expenseType: 'OFCSP',
          description: 'Deep cleaning',
          merchant: 'Facility Cleaners Inc.',
          amount: { amount: '400.00', currency: 'USD' },
          dimensions: { costCenter: 'CC-300', project: 'Test33224ASDF', glAccount: '6800' },
          receiptAttached: true,
        },
        {
          lineId: 'gWqSc$sAw3vAGu6lgaJTdDOG4ukwS4MIg2hR',
          date: '2020-03-12',
          expenseType: 'MISCS',
          merchant: 'Home Depot',
          amount: { amount: '125.00', currency: 'USD' },
          // No cost center on the expense: the report's custom1 is not set either, so none is invented.
          dimensions: { project: 'Test33224ASDF', glAccount: '6900' },
          receiptAttached: false,
          policyExceptions: [
            expect.objectContaining({ code: 'CONCUR_EXCEPTION', lineId: 'gWqSc$sAw3vAGu6lgaJTdDOG4ukwS4MIg2hR' }),
          ],
        },
      ],
    });
    expect(JSON.parse(JSON.stringify(report))).toEqual(report);
  });

  it('falls back to the report custom field for a dimension the expense does not set', () => {
    const report = mapSample(undefined, undefined, { ...OPTIONS, costCenterField: 'custom16' });
    expect(report.lines.map((line) => line.dimensions.costCenter)).toEqual(['Test33224ASDF', 'Test33224ASDF']);
  });

  it("refuses a report list field as a dimension: its value is the list item's id, not a cost center", () => {
    // custom15 in the spec's sample has a listItemUrl, and its value is the id in that URL.
    const error = financeErrorOf(() => mapSample(undefined, undefined, { ...OPTIONS, costCenterField: 'custom15' }));
    expect(error.code).toBe('SCHEMA_INVALID');
    expect(error.message).toContain(
      '/customData/0/value: is "4366A89A916F074099A971B000989A94", the id of an item of the list field custom15',
    );
    expect(error.message).toContain('set the profile option costCenterField to a text field');
  });

  it('reads only fields that the spec documents', () => {
    const models = entryGetModel();
    const entryFields = Object.keys(models.EntryGet.properties);
    for (const field of ['ID', 'ReportID', 'IsPersonal', 'ExpenseTypeCode', 'TransactionDate', 'Description']) {
      expect(entryFields).toContain(field);
    }
    for (const field of ['VendorDescription', 'VendorListItemName', 'PostedAmount', 'HasImage', 'HasExceptions']) {
      expect(entryFields).toContain(field);
    }
    expect(models.EntryGet.properties.Custom1.type).toBe('CustomField');
    expect(Object.keys(models.CustomField.properties)).toEqual(expect.arrayContaining(['Code', 'Value']));
    expect(Object.keys(models.EntryCollection.properties)).toEqual(['Items', 'NextPage']);

    const reportFields = schemaTableFields(readSpec('v4.reports.markdown'), 'report-details-schema');
    for (const field of ['reportId', 'currencyCode', 'claimedAmount', 'approvalStatusId', 'paymentStatusId']) {
      expect(reportFields).toContain(field);
    }
    for (const field of ['userId', 'name', 'businessPurpose', 'submitDate', 'reportVersion', 'customData']) {
      expect(reportFields).toContain(field);
    }
    expect(schemaTableFields(readSpec('v4.reports.markdown'), 'custom-data-schema')).toEqual(
      expect.arrayContaining(['id', 'value']),
    );
  });

  it('maps approval and payment statuses', () => {
    const cases: [string, string, string][] = [
      ['A_NOTF', 'P_NOTP', 'draft'],
      ['A_AAFH', 'P_NOTP', 'submitted'],
      ['A_RHLD', 'P_NOTP', 'submitted'],
      ['A_FILE', 'P_NOTP', 'pending_approval'],
      ['A_PEND', 'P_NOTP', 'pending_approval'],
      ['A_PBDG', 'P_NOTP', 'pending_approval'],
      ['A_APPR', 'P_PROC', 'approved'],
      ['A_APPR', 'P_HOLD', 'approved'],
      // In the processor's accounting review, which may still cut amounts or send it back: not yet approved.
      ['A_ACCO', 'P_NOTP', 'pending_approval'],
      ['A_RESU', 'P_NOTP', 'returned'],
      ['A_TEXP', 'P_NOTP', 'escalated'],
      ['A_APPR', 'P_PAID', 'paid'],
      ['A_APPR', 'P_PAYC', 'paid'],
    ];
    for (const [approval, payment, state] of cases) {
      const report = mapSample((sample) => {
        sample.approvalStatusId = approval;
        sample.paymentStatusId = payment;
        // The sample is not submitted and owes 0; an approved report owes the employee its 525.00.
        sample.amountDueEmployee.value = 525;
      });
      expect([approval, payment, report.state]).toEqual([approval, payment, state]);
    }
  });

  it('rejects an unknown approval status unless the options map it', () => {
    for (const code of ['A_CUST', 'constructor', '__proto__']) {
      const error = financeErrorOf(() => mapSample((report) => (report.approvalStatusId = code)));
      expect(error.code).toBe('SCHEMA_INVALID');
      expect(error.message).toContain('/approvalStatusId');
      expect(error.message).toContain('approvalStatusMap');
    }
    const options = { ...OPTIONS, approvalStatusMap: { A_CUST: 'pending_approval' as const } };
    expect(mapSample((report) => (report.approvalStatusId = 'A_CUST'), undefined, options).state).toBe(
      'pending_approval',
    );
  });

  it('takes the employee id from a custom text field when configured, never from a list field', () => {
    expect(mapSample(undefined, undefined, { ...OPTIONS, employeeIdField: 'custom16' }).employeeId).toBe(
      'Test33224ASDF',
    );
    const list = financeErrorOf(() => mapSample(undefined, undefined, { ...OPTIONS, employeeIdField: 'custom3' }));
    expect(list.message).toContain('the id of an item of the list field custom3');
    expect(list.message).toContain('leave it out to use the Concur userId');
    const error = financeErrorOf(() => mapSample(undefined, undefined, { ...OPTIONS, employeeIdField: 'custom9' }));
    expect(error.message).toContain('/customData: has no value for "custom9"');
  });

  it('rejects a float artefact in an expense amount instead of rounding it', () => {
    const error = financeErrorOf(() =>
      mapSample(
        (report) => (report.claimedAmount.value = 403.3),
        (entries) => (entries.Items[1].PostedAmount = 1.1 + 2.2),
      ),
    );
    expect(error.code).toBe('INVALID_AMOUNT');
    expect(error.message).toContain('/Items/1/PostedAmount: 3.3000000000000003 has 16 decimals but USD has 2');
  });

  it('rejects expenses that do not add up to the claimed amount', () => {
    const error = financeErrorOf(() => mapSample(undefined, (entries) => entries.Items.pop() && entries.Items.pop()));
    expect(error.code).toBe('SCHEMA_INVALID');
    expect(error.message).toContain('add up to 400.00 USD');
    expect(error.message).toContain('claimedAmount is 525.00 USD');
  });

  it('accepts the expenses as a plain array of all pages', () => {
    const report = sampleReport();
    const entries = sampleEntries(report.reportId).Items;
    const mapped = createConcurProfile(OPTIONS).toCanonical(report, { lines: entries }) as ExpenseReport;
    expect(mapped.lines).toHaveLength(2);
  });

  it.each([
    ['/claimedAmount', (report: Json) => delete report.claimedAmount, undefined],
    ['/reportId', (report: Json) => (report.reportId = null), undefined],
    ['/approvalStatusId', (report: Json) => delete report.approvalStatusId, undefined],
    ['/customData', (report: Json) => (report.customData = { custom1: 'x' }), undefined],
    ['/customData/1/id', (report: Json) => (report.customData[1].id = 7), undefined],
    ['/reportVersion', (report: Json) => (report.reportVersion = '3'), undefined],
    ['/submitDate', (report: Json) => (report.submitDate = 'yesterday'), undefined],
  ])('rejects a report with a bad %s, naming it', (path, changeReport, changeEntries) => {
    const error = financeErrorOf(() => mapSample(changeReport, changeEntries));
    expect(error.code).toBe('SCHEMA_INVALID');
    expect(error.message).toContain(`Concur expense report ${path}:`);
    expect(error.message).toContain('GET /expensereports/v4/users/{userID}/context/TRAVELER/reports/{reportId}');
  });

  it.each([
    [
      '/NextPage',
      (entries: Json) => (entries.NextPage = 'https://www.concursolutions.com/api/v3.0/expense/entries?offset=2'),
    ],
    ['/Items/0/ReportID', (entries: Json) => (entries.Items[0].ReportID = 'OTHERREPORT')],
    ['/Items/0/ID', (entries: Json) => delete entries.Items[0].ID],
    ['/Items/1/TransactionDate', (entries: Json) => (entries.Items[1].TransactionDate = '2020-02-30')],
    ['/Items/0/Custom1', (entries: Json) => (entries.Items[0].Custom1 = 'CC-300')],
    ['/Items/0/IsPersonal', (entries: Json) => (entries.Items[0].IsPersonal = 'N')],
  ])('rejects expenses with a bad %s, naming it', (path, changeEntries) => {
    const error = financeErrorOf(() => mapSample(undefined, changeEntries));
    expect(error.code).toBe('SCHEMA_INVALID');
    expect(error.message).toContain(`Concur expenses ${path}:`);
  });

  it('requires the expenses', () => {
    const error = financeErrorOf(() => createConcurProfile(OPTIONS).toCanonical(sampleReport()));
    expect(error.code).toBe('SCHEMA_INVALID');
    expect(error.message).toContain('Concur expenses /: are missing');
    expect(error.message).toContain('/api/v3.0/expense/entries?reportID=');
  });

  it('does not treat prototype names as expense types', () => {
    const report = mapSample(undefined, (entries) => (entries.Items[0].ExpenseTypeCode = 'constructor'));
    expect(report.lines[0].dimensions.glAccount).toBeUndefined();
  });
});

describe('Concur profile options', () => {
  it.each([
    [{ costCenterField: 3 }, 'costCenterField'],
    [{ projectField: ' ' }, 'projectField'],
    [{ glAccountByExpenseType: ['6100'] }, 'glAccountByExpenseType'],
    [{ glAccountByExpenseType: { AIRFR: 6100 } }, 'glAccountByExpenseType.AIRFR'],
    [{ approvalStatusMap: { A_CUST: 'done' } }, 'approvalStatusMap.A_CUST'],
  ])('rejects %j as a configuration error', (options, option) => {
    const error = financeErrorOf(() => createConcurProfile(options as unknown as ConcurProfileOptions));
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toContain(`"${option}"`);
  });
});
