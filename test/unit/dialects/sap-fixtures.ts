/** A SAP connection to the sandbox's SAP simulator (company code FS01 = FS-DEMO) and a purchase order for it. */
import type { PurchaseOrder, PurchaseOrderLine } from '../../../lib/model/types';
import { line as anyLine } from '../purchasing/fixtures';
import { today } from './harness';

const eur = (amount: string) => ({ amount, currency: 'EUR' });

export const SAP_OPTIONS = {
  sapClient: '100',
  purchasingOrganization: '1010',
  purchasingGroup: '001',
  plant: '1010',
  materialGroup: 'L001',
};

/** A purchase order line with an SAP tax code (A_PurchaseOrderItem TaxCode holds 2 characters, e.g. V1). */
export function line(overrides: Partial<PurchaseOrderLine> = {}): PurchaseOrderLine {
  return anyLine({ taxCode: 'V1', ...overrides });
}

export function sapConnection() {
  return () => ({
    name: 'sap',
    dialect: 'sap',
    company: 'FS01',
    auth: { type: 'basic' as const, username: 'COMM_USER', password: 'comm-password' },
    options: SAP_OPTIONS,
  });
}

export function sapPurchaseOrder(externalReference: string, overrides: Partial<PurchaseOrder> = {}): PurchaseOrder {
  return {
    docType: 'PurchaseOrder',
    sourceRef: { system: 'coupa', id: externalReference, version: 1 },
    externalReference,
    supplierId: 'SUP-1001',
    orderDate: today(),
    currency: 'EUR',
    total: eur('400.00'),
    lines: [
      line({
        lineId: 'L1',
        quantity: '2',
        unitPrice: eur('150.00'),
        amount: eur('300.00'),
        accountAssignments: [{ dimensions: { costCenter: 'CC-100', glAccount: '6300' } }],
      }),
      line({ lineId: 'L2', description: 'Split line', quantity: '1', unitPrice: eur('100.00'), amount: eur('100.00') }),
    ],
    ...overrides,
  };
}
