/**
 * The metadata reader the dialect metadata tests rely on, checked against the published files themselves: if
 * it misread them, every metadata test built on it would prove nothing.
 */
import { entityProblems, entityTypeOfPath, loadSpec, payloadProblems } from '../../support/edmx';

const bc = loadSpec('bc-api-v2.0-metadata.xml');
const sap = loadSpec('API_PURCHASEORDER_PROCESS_SRV.edmx');

describe('EDMX reader: Business Central v2.0 (OData v4)', () => {
  it('reads entity sets, keys, properties with MaxLength, enums and typed navigation properties', () => {
    expect(bc.version).toBe('4');
    const po = entityTypeOfPath(bc, ['purchaseOrders(1)'])!;
    expect(po.qualifiedName).toBe('Microsoft.NAV.purchaseOrder');
    expect(po.keys).toEqual(['id']);
    expect(po.properties.get('vendorNumber')).toMatchObject({ type: 'Edm.String', maxLength: 20, nullable: false });
    expect(po.properties.get('status')?.type).toBe('Microsoft.NAV.purchaseOrderEntityBufferStatus');
    expect(bc.enums.get('Microsoft.NAV.purchaseOrderEntityBufferStatus')).toEqual(['Draft', 'In_x0020_Review', 'Open']);
    expect(po.navigations.get('purchaseOrderLines')).toEqual({
      name: 'purchaseOrderLines',
      target: 'Microsoft.NAV.purchaseOrderLine',
      collection: true,
    });
    expect(entityTypeOfPath(bc, ['purchaseOrders(1)', 'purchaseOrderLines'])?.name).toBe('purchaseOrderLine');
    expect(entityTypeOfPath(bc, ['purchaseInvoices(1)', 'Microsoft.NAV.post'])).toBeUndefined();
    expect(() => entityTypeOfPath(bc, ['purchaseOrders(1)', 'Microsoft.NAV.post'])).toThrow(
      /no navigation property or bound operation/,
    );
    expect(bc.entitySets.size).toBeGreaterThan(80);
  });

  it('finds unknown properties, over-long strings, bad GUIDs, enums and deep-insert lines', () => {
    const po = entityTypeOfPath(bc, ['purchaseOrders'])!;
    const problems = payloadProblems(
      bc,
      po,
      {
        vendorNumber: 'V'.repeat(21),
        externalReference: 'x',
        vendorId: 'not-a-guid',
        status: 'Released',
        purchaseOrderLines: [{ description: 'ok', quantity: 'two', lineType: 'Account' }],
      },
      'create',
    );
    expect(problems).toEqual([
      'purchaseOrder/vendorNumber: 21 characters, MaxLength is 20',
      'purchaseOrder/externalReference: not a property of purchaseOrder',
      'purchaseOrder/vendorId: "not-a-guid" is not a GUID (Edm.Guid)',
      'purchaseOrder/status: "Released" is not one of Draft,In_x0020_Review,Open (Microsoft.NAV.purchaseOrderEntityBufferStatus)',
      'purchaseOrder/purchaseOrderLines[0]/quantity: "two" is not a decimal (Edm.Decimal)',
    ]);
    expect(payloadProblems(bc, po, { number: 'PO1' }, 'create', { readOnly: new Set(['number']) })).toEqual([
      'purchaseOrder/number: read-only (vendor documentation)',
    ]);
  });
});

describe('EDMX reader: SAP API_PURCHASEORDER_PROCESS_SRV (OData v2)', () => {
  it('reads sap:creatable / sap:updatable, MaxLength and navigation through associations', () => {
    expect(sap.version).toBe('2');
    const header = entityTypeOfPath(sap, ["A_PurchaseOrder('4500000001')"])!;
    expect(header.keys).toEqual(['PurchaseOrder']);
    expect(header.properties.get('CorrespncExternalReference')).toMatchObject({ maxLength: 12 });
    expect(header.properties.get('PurchasingProcessingStatus')).toMatchObject({ creatable: false, updatable: false });
    expect(header.properties.get('Supplier')).toMatchObject({ creatable: undefined, updatable: undefined });
    const item = entityTypeOfPath(sap, ["A_PurchaseOrder('1')", 'to_PurchaseOrderItem'])!;
    expect(item.name).toBe('A_PurchaseOrderItemType');
    expect(item.keys).toEqual(['PurchaseOrder', 'PurchaseOrderItem']);
    expect(item.navigations.get('to_AccountAssignment')).toMatchObject({
      target: 'API_PURCHASEORDER_PROCESS_SRV.A_PurOrdAccountAssignmentType',
      collection: true,
    });
    expect(header.navigations.get('to_PurchaseOrderItem')?.collection).toBe(true);
  });

  it('flags properties that are not creatable or updatable, precision overflow and v2 dates', () => {
    const header = entityTypeOfPath(sap, ['A_PurchaseOrder'])!;
    expect(
      payloadProblems(
        sap,
        header,
        {
          PurchasingProcessingStatus: '02',
          PurchaseOrderDate: '2026-01-01',
          to_PurchaseOrderItem: { results: [{ NetPriceAmount: '123456789012.5', PurchaseOrderItemText: 'x' }] },
        },
        'create',
      ),
    ).toEqual([
      'A_PurchaseOrderType/PurchasingProcessingStatus: sap:creatable="false"',
      'A_PurchaseOrderType/PurchaseOrderDate: "2026-01-01" is not an OData v2 /Date(ms)/ value (Edm.DateTime)',
      'A_PurchaseOrderType/to_PurchaseOrderItem[0]/NetPriceAmount: 12 integer digits, Precision 12 Scale 3',
    ]);
    expect(payloadProblems(sap, header, { PurchaseOrder: '1', LastChangeDateTime: null }, 'update')).toEqual([
      'A_PurchaseOrderType/PurchaseOrder: keys cannot be updated',
      'A_PurchaseOrderType/LastChangeDateTime: sap:updatable="false"',
    ]);
    expect(entityProblems(sap, header, { Supplier: '17300001' })).toEqual([
      'A_PurchaseOrderType: key PurchaseOrder missing',
    ]);
  });
});
