/** An ERPNext connection to the sandbox's Frappe simulator (Company FS-DEMO) and a purchase order for it. */
import type { PurchaseOrder } from '../../../lib/model/types';
import { line } from '../purchasing/fixtures';
import { today } from './harness';

const eur = (amount: string) => ({ amount, currency: 'EUR' });

export function erpnextConnection(key = 'fs-api-key', secret = 'fs-api-secret') {
  return () => ({
    name: 'erpnext',
    dialect: 'erpnext',
    company: 'FS-DEMO',
    auth: { type: 'apiKey' as const, headerName: 'Authorization', apiKey: `token ${key}:${secret}` },
    options: { payableAccount: '2910', site: 'erp.fs-demo.example' },
  });
}

export function erpnextPurchaseOrder(externalReference: string, overrides: Partial<PurchaseOrder> = {}): PurchaseOrder {
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
