/**
 * The Business Central dialect and simulator against BC's published API v2.0 `$metadata`
 * (../shared/specs/bc-api-v2.0-metadata.xml): every request the dialect sends in a full round of work (purchase
 * orders created, changed, cancelled; journal and invoice postings; budget check; master data) is checked for
 * - entity sets, navigation properties and bound actions that exist (and are bound to that type);
 * - body properties that exist on the entity, are not read-only, and fit MaxLength / type / enum members;
 * - $filter and $expand names that exist, GUID keys where the key is Edm.Guid;
 * and every entity the simulator answered is checked against its entity type.
 * The metadata does not mark read-only properties; those come from the API pages' Editable=false fields
 * [D microsoft/ALAppExtensions APIV2 pages], listed below. The Analytics API and the custom reference page
 * are not in this metadata: their fields are checked against the documented lists below instead.
 */
import type { EdmModel } from '../../support/edmx';
import { entityProblems, entityTypeOfPath, loadSpec, payloadProblems } from '../../support/edmx';
import { line } from '../purchasing/fixtures';
import { ctx, currentPeriod, startDialectRig, today, type DialectRig, type Exchange } from '../dialects/harness';

const bc: EdmModel = loadSpec('bc-api-v2.0-metadata.xml');
const eur = (amount: string) => ({ amount, currency: 'EUR' });

/** Fields the API v2.0 pages declare Editable = false [D APIV2PurchaseOrders.Page.al and siblings]. */
const READ_ONLY = new Set([
  'id',
  'number',
  'vendorName',
  'status',
  'totalAmountExcludingTax',
  'totalTaxAmount',
  'totalAmountIncludingTax',
  'discountAppliedBeforeTax',
  'lastModifiedDateTime',
  'fullyReceived',
  'documentId',
  'amountExcludingTax',
  'amountIncludingTax',
  'netAmount',
  'netTaxAmount',
  'netAmountIncludingTax',
  'receivedQuantity',
  'invoicedQuantity',
  'journalId',
  'journalDisplayName',
]);

/** The custom API page's one addition (Purchase Header "Your Reference", Text[35]; README "Business Central"). */
const CUSTOM_PAGE_EXTRA = { yourReference: 'custom API page finsync/finance/v1.0: Purchase Header "Your Reference"' };

/** The Analytics API entities the budget check reads [D dynamics_generalledgerbudgetentry; U dimensionSetEntries]. */
const ANALYTICS_FIELDS: Record<string, readonly string[]> = {
  generalLedgerBudgetEntries: ['budgetName', 'glAccountNo', 'budgetDate', 'budgetAmount', 'dimensionSetID', 'entryNo'],
  dimensionSetEntries: ['dimensionSetID', 'dimensionCode', 'dimensionValueCode'],
};

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

interface Checked {
  problems: string[];
  covered: Set<string>;
}

function segmentsOf(path: string): { api: string; segments: string[] } {
  const rest = path.split('/').filter(Boolean).slice(3); // v2.0, tenant, environment
  if (rest[0] === 'api' && rest[1] === 'v2.0') return { api: 'standard', segments: rest.slice(2) };
  if (rest.slice(0, 4).join('/') === 'api/finsync/finance/v1.0') return { api: 'custom', segments: rest.slice(4) };
  if (rest.slice(0, 4).join('/') === 'api/microsoft/analytics/v1.0')
    return { api: 'analytics', segments: rest.slice(4) };
  return { api: 'unknown', segments: rest };
}

function check(exchanges: readonly Exchange[]): Checked {
  const problems: string[] = [];
  const covered = new Set<string>();
  for (const { request, response } of exchanges) {
    const { api, segments } = segmentsOf(request.path);
    const where = `${request.method} ${request.path}`;
    if (api === 'unknown') {
      problems.push(`${where}: not an API v2.0, analytics or custom page path`);
      continue;
    }
    if (api === 'analytics') {
      const fields = ANALYTICS_FIELDS[segments[1]?.replace(/\(.*$/, '')];
      if (!fields) problems.push(`${where}: analytics entity not documented`);
      for (const entity of (response?.data as { value?: Record<string, unknown>[] })?.value ?? []) {
        for (const name of Object.keys(entity)) {
          if (name !== 'id' && !fields?.includes(name)) problems.push(`${where}: ${name} is not a documented field`);
        }
      }
      covered.add(`GET analytics/${segments[1]}`);
      continue;
    }
    for (const segment of segments) {
      const key = /\((.*)\)$/.exec(segment)?.[1];
      if (key !== undefined && !GUID.test(key)) problems.push(`${where}: key ${key} is not an Edm.Guid`);
    }
    let type;
    try {
      type = segments.length === 1 ? undefined : entityTypeOfPath(bc, segments);
    } catch (error) {
      problems.push(`${where}: ${(error as Error).message}`);
      continue;
    }
    const extra = api === 'custom' ? CUSTOM_PAGE_EXTRA : {};
    if (!type) {
      covered.add(`${request.method} ${segments.at(-1)?.replace(/\(.*$/, '')}`);
      if (request.body !== undefined) problems.push(`${where}: a bound action takes no body here`);
      continue;
    }
    covered.add(`${request.method} ${type.name}`);
    const filter = typeof request.query?.$filter === 'string' ? request.query.$filter : '';
    for (const match of filter.matchAll(/(\w+) (?:eq|ne|gt|ge|lt|le) /g)) {
      if (!type.properties.has(match[1]) && !(match[1] in extra))
        problems.push(`${where}: $filter on unknown ${match[1]}`);
    }
    const expand = typeof request.query?.$expand === 'string' ? request.query.$expand : '';
    for (const match of expand.matchAll(/(\w+)(?=\(|,|\)|$)/g)) {
      if (match[1] === 'expand') continue;
      const known = [...bc.entityTypes.values()].some((candidate) => candidate.navigations.has(match[1]));
      if (!known) problems.push(`${where}: $expand of unknown navigation ${match[1]}`);
    }
    if (request.method === 'POST' || request.method === 'PATCH') {
      problems.push(
        ...payloadProblems(bc, type, request.body, request.method === 'POST' ? 'create' : 'update', {
          readOnly: READ_ONLY,
          allowedExtra: extra,
        }).map((problem) => `${where}: ${problem}`),
      );
      const reference = (request.body as Record<string, unknown>).yourReference;
      if (typeof reference === 'string' && reference.length > 35) problems.push(`${where}: yourReference over 35`);
    }
    const data = response?.data as Record<string, unknown> | undefined;
    if (data && typeof data === 'object') {
      const entities = Array.isArray(data.value) ? (data.value as unknown[]) : [data];
      entities.forEach((entity, index) =>
        problems.push(...entityProblems(bc, type, entity, `${where} answer[${index}]`, extra)),
      );
    }
  }
  return { problems, covered };
}

async function roundOfWork(rig: DialectRig, reference: (name: string) => string): Promise<void> {
  const period = currentPeriod();
  const lines = [
    line({
      lineId: 'L1',
      accountAssignments: [{ dimensions: { costCenter: 'CC-100', glAccount: '6300', project: 'PRJ-2001' } }],
    }),
    line({ lineId: 'L2' }),
  ];
  const po = {
    docType: 'PurchaseOrder' as const,
    sourceRef: { system: 'coupa', id: 'PO-1', version: 1 },
    externalReference: reference('coupa:PurchaseOrder:PO-METADATA-0000000001:1'),
    supplierId: 'SUP-1001',
    orderDate: today(),
    currency: 'EUR',
    total: eur('600.00'),
    lines,
  };
  const created = await rig.dialect.upsertPurchaseOrder(po, ctx);
  await rig.dialect.upsertPurchaseOrder({ ...po, erpRef: created, orderDate: `${period}-01` }, ctx);
  const current = await rig.dialect.getPurchaseOrder(created.documentId, ctx);
  // L1's quantity changes (a line PATCH), L2 goes (a line DELETE), L3 comes (a line POST).
  await rig.dialect.patchPurchaseOrder(
    created.documentId,
    { lines: [{ ...lines[0], quantity: '3', amount: eur('450.00') }, line({ lineId: 'L3' })] },
    current.erpRef.etag!,
    ctx,
  );
  await rig.dialect.findByReference('purchaseOrder', po.externalReference, ctx);
  await rig.dialect.cancelPurchaseOrder(
    { externalReference: po.externalReference, documentId: created.documentId },
    ctx,
  );
  await rig.dialect.post(
    {
      kind: 'journal',
      externalReference: reference('cloudevents:urn:finance-sync:samples:RPT-METADATA'),
      postingDate: today(),
      currency: 'EUR',
      lines: [
        {
          lineId: '1',
          amount: eur('10.00'),
          dimensions: { costCenter: 'CC-100', glAccount: '6000', project: 'PRJ-2001' },
          description: 'Taxi',
        },
      ],
    },
    ctx,
  );
  await rig.dialect.post(
    {
      kind: 'payable',
      externalReference: reference('coupa:Invoice:INV-METADATA:1'),
      supplierId: 'SUP-1002',
      postingDate: today(),
      currency: 'EUR',
      lines: [{ lineId: '1', amount: eur('10.00'), dimensions: { costCenter: 'CC-300', glAccount: '6400' } }],
    },
    ctx,
  );
  await rig.dialect.checkBudget({ costCenter: 'CC-100', glAccount: '6300', period, amount: eur('1.00') }, ctx);
  for (const kind of ['employees', 'suppliers', 'costCenters', 'projects', 'glAccounts'] as const) {
    await rig.dialect.listMasterData(kind, { limit: 4 }, ctx);
  }
}

describe('Business Central dialect and simulator against the API v2.0 $metadata', () => {
  const rigs: DialectRig[] = [];
  afterAll(() => Promise.all(rigs.map((rig) => rig.close())));

  for (const referenceApi of ['finsync/finance/v1.0', undefined]) {
    it(`sends only what the metadata allows and gets answers of its entity types (${referenceApi ?? 'standard API only'})`, async () => {
      const rig = await startDialectRig((url) => ({
        name: 'bc',
        dialect: 'business-central',
        company: 'FS-DEMO',
        auth: { type: 'oauth2', tokenUrl: `${url}/t1/oauth2/v2.0/token`, clientId: 'a', clientSecret: 'b' },
        options: { tenant: 't1', environment: 'Production', ...(referenceApi ? { referenceApi } : {}) },
      }));
      rigs.push(rig);
      await roundOfWork(rig, (name) => name);
      const { problems, covered } = check(rig.http.exchanges);
      expect(problems).toEqual([]);
      expect([...covered].sort()).toEqual(
        expect.arrayContaining([
          'POST purchaseOrder',
          'PATCH purchaseOrder',
          'DELETE purchaseOrder',
          'GET purchaseOrder',
          'POST purchaseOrderLine',
          'PATCH purchaseOrderLine',
          'DELETE purchaseOrderLine',
          'POST journalLine',
          'POST Microsoft.NAV.post',
          'POST purchaseInvoice',
          'GET generalLedgerEntry',
          'GET vendor',
          'GET employee',
          'GET account',
          'GET dimensionValue',
          'GET generalLedgerSetup',
          'GET analytics/generalLedgerBudgetEntries',
          'GET analytics/dimensionSetEntries',
        ]),
      );
    });
  }

  it('catches a dialect that would send a property BC does not have (the check can fail)', () => {
    const path = '/v2.0/t/P/api/v2.0/companies(00000000-0000-0000-0000-000000000001)/purchaseOrders';
    const { problems } = check([
      { request: { method: 'POST', path, body: { vendorNumber: 'V1', externalReference: 'x', number: 'PO1' } } },
    ]);
    expect(problems).toEqual([
      `POST ${path}: purchaseOrder/externalReference: not a property of purchaseOrder`,
      `POST ${path}: purchaseOrder/number: read-only (vendor documentation)`,
    ]);
  });
});
