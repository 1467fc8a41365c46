/**
 * The SAP dialect and simulator against the published EDMX of API_PURCHASEORDER_PROCESS_SRV
 * (../shared/specs/API_PURCHASEORDER_PROCESS_SRV.edmx): in a round of create, change, item replacement,
 * lookup and cancel, every request is checked for entity sets, keys (names and MaxLength), navigation
 * properties in paths, $filter and $expand; every body for properties that exist, are `sap:creatable` on
 * POST and `sap:updatable` on PATCH, fit MaxLength / Precision / Scale and the v2 value formats; and every
 * answer of the simulator for properties of its entity type with values of their type.
 */
import type { EdmEntityType, EdmModel } from '../../support/edmx';
import { entityProblems, entityTypeOfPath, loadSpec, payloadProblems, valueProblems } from '../../support/edmx';
import { ctx, startDialectRig, type DialectRig, type Exchange } from '../dialects/harness';
import { line, sapConnection, sapPurchaseOrder } from '../dialects/sap-fixtures';

const sap: EdmModel = loadSpec('API_PURCHASEORDER_PROCESS_SRV.edmx');
const SERVICE = '/sap/opu/odata/sap/API_PURCHASEORDER_PROCESS_SRV';

function segmentsOf(path: string): string[] {
  return path.slice(SERVICE.length).split('/').filter(Boolean);
}

function keyProblems(type: EdmEntityType, segment: string, where: string): string[] {
  const predicate = /\((.*)\)$/.exec(segment)?.[1];
  if (predicate === undefined) return [];
  const pairs = predicate.split(',').map((part) => {
    const named = /^(\w+)='(.*)'$/.exec(part);
    return named ? [named[1], named[2]] : [type.keys.length === 1 ? type.keys[0] : '?', part.replace(/^'|'$/g, '')];
  });
  const problems: string[] = [];
  if (pairs.length !== type.keys.length) problems.push(`${where}: ${type.name} has keys ${type.keys.join(', ')}`);
  for (const [name, value] of pairs) {
    const property = type.properties.get(name);
    if (!type.keys.includes(name) || !property) problems.push(`${where}: ${name} is not a key of ${type.name}`);
    else problems.push(...valueProblems(sap, property, value, `${where} key ${name}`));
  }
  return problems;
}

function check(exchanges: readonly Exchange[]): { problems: string[]; covered: Set<string> } {
  const problems: string[] = [];
  const covered = new Set<string>();
  for (const { request, response } of exchanges) {
    const where = `${request.method} ${request.path}`;
    if (!request.path.startsWith(SERVICE)) {
      problems.push(`${where}: outside the service`);
      continue;
    }
    const segments = segmentsOf(request.path);
    if (segments.length === 0) {
      covered.add('GET service root (CSRF fetch)');
      continue;
    }
    let type: EdmEntityType | undefined;
    try {
      type = entityTypeOfPath(sap, segments);
      const first = entityTypeOfPath(sap, segments.slice(0, 1));
      if (first) problems.push(...keyProblems(first, segments[0], where));
    } catch (error) {
      problems.push(`${where}: ${(error as Error).message}`);
      continue;
    }
    if (!type) continue;
    covered.add(`${request.method} ${type.name}`);
    const filter = typeof request.query?.$filter === 'string' ? request.query.$filter : '';
    for (const match of filter.matchAll(/(\w+) (?:eq|ne|gt|ge|lt|le) '([^']*)'/g)) {
      const property = type.properties.get(match[1]);
      if (!property) problems.push(`${where}: $filter on unknown ${match[1]}`);
      else problems.push(...valueProblems(sap, property, match[2], `${where} $filter ${match[1]}`));
    }
    const expand = typeof request.query?.$expand === 'string' ? request.query.$expand : '';
    for (const path of expand.split(',').filter(Boolean)) {
      let current: EdmEntityType | undefined = type;
      for (const name of path.split('/')) {
        const navigation = current?.navigations.get(name);
        if (!navigation) {
          problems.push(`${where}: $expand ${path}: ${current?.name} has no navigation ${name}`);
          break;
        }
        current = sap.entityTypes.get(navigation.target);
      }
    }
    if (request.method === 'POST' || request.method === 'PATCH') {
      problems.push(
        ...payloadProblems(sap, type, request.body, request.method === 'POST' ? 'create' : 'update').map(
          (p) => `${where}: ${p}`,
        ),
      );
    }
    const data = response?.data as { d?: Record<string, unknown> } | undefined;
    if (data?.d) {
      const entities = Array.isArray(data.d.results) ? (data.d.results as unknown[]) : [data.d];
      entities.forEach((entity, index) =>
        problems.push(...entityProblems(sap, type, entity, `${where} answer[${index}]`)),
      );
    }
  }
  return { problems, covered };
}

describe('SAP dialect and simulator against the API_PURCHASEORDER_PROCESS_SRV EDMX', () => {
  let rig: DialectRig;
  beforeAll(async () => {
    rig = await startDialectRig(sapConnection());
  });
  afterAll(() => rig.close());

  it('sends only creatable / updatable properties that fit, on keys and navigations that exist, and gets typed answers', async () => {
    const reference = 'coupa:PurchaseOrder:PO-METADATA-LONG-REFERENCE:1';
    const created = await rig.dialect.upsertPurchaseOrder(sapPurchaseOrder(reference), ctx);
    const changed = await rig.dialect.upsertPurchaseOrder(
      sapPurchaseOrder(reference, { orderDate: '2026-03-01' }),
      ctx,
    );
    const replaced = await rig.dialect.patchPurchaseOrder(
      created.documentId,
      {
        lines: [
          line({
            lineId: 'P',
            quantity: '1.5',
            accountAssignments: [{ dimensions: { project: 'PRJ-2002', glAccount: '6400' } }],
          }),
        ],
      },
      changed.version!,
      ctx,
    );
    // The same line changed: its item and its account assignment are patched in place.
    await rig.dialect.patchPurchaseOrder(
      created.documentId,
      {
        lines: [
          line({
            lineId: 'P',
            quantity: '2',
            accountAssignments: [{ dimensions: { project: 'PRJ-2001', glAccount: '6400' } }],
          }),
        ],
      },
      replaced.erpRef.etag!,
      ctx,
    );
    await rig.dialect.findByReference('purchaseOrder', reference, ctx);
    await rig.dialect.cancelPurchaseOrder({ externalReference: reference }, ctx);
    const { problems, covered } = check(rig.http.exchanges);
    expect(problems).toEqual([]);
    expect([...covered]).toEqual(
      expect.arrayContaining([
        'GET service root (CSRF fetch)',
        'POST A_PurchaseOrderType',
        'PATCH A_PurchaseOrderType',
        'DELETE A_PurchaseOrderType',
        'GET A_PurchaseOrderType',
        'POST A_PurchaseOrderItemType',
        'DELETE A_PurchaseOrderItemType',
        'PATCH A_PurchaseOrderItemType',
        'PATCH A_PurOrdAccountAssignmentType',
      ]),
    );
  });

  it('catches a body that writes a read-only field, an over-long reference or a wrong date format (the check can fail)', () => {
    const path = `${SERVICE}/A_PurchaseOrder`;
    const { problems } = check([
      {
        request: {
          method: 'POST',
          path,
          body: {
            CorrespncExternalReference: 'coupa:PO-1:version-1',
            PurchasingDocumentDeletionCode: 'L',
            PurchaseOrderDate: '2026-01-01',
          },
        },
      },
      { request: { method: 'GET', path: `${SERVICE}/A_PurchaseOrderItem(PurchaseOrder='4500000001')` } },
    ]);
    expect(problems).toEqual([
      `POST ${path}: A_PurchaseOrderType/CorrespncExternalReference: 20 characters, MaxLength is 12`,
      `POST ${path}: A_PurchaseOrderType/PurchasingDocumentDeletionCode: sap:creatable="false"`,
      `POST ${path}: A_PurchaseOrderType/PurchaseOrderDate: "2026-01-01" is not an OData v2 /Date(ms)/ value (Edm.DateTime)`,
      `GET ${SERVICE}/A_PurchaseOrderItem(PurchaseOrder='4500000001'): A_PurchaseOrderItemType has keys PurchaseOrder, PurchaseOrderItem`,
    ]);
  });
});
