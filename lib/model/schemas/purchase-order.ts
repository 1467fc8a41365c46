/** PurchaseOrder: the commitment created in the ERP, keyed by externalReference. */
import { refs } from './refs';

export const purchaseOrderSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://finance-sync.dev/schemas/purchase-order.json',
  title: 'PurchaseOrder',
  description:
    'A purchase order in the canonical model. Lines may split across cost centers or projects by percent or ' +
    'by amount; the splits of a line add up to it exactly (checked after the schema).',
  type: 'object',
  additionalProperties: false,
  required: ['docType', 'sourceRef', 'externalReference', 'supplierId', 'orderDate', 'currency', 'total', 'lines'],
  properties: {
    docType: { const: 'PurchaseOrder' },
    sourceRef: refs.sourceRef,
    erpRef: refs.erpRef,
    externalReference: { ...refs.identifier, description: 'The key the ERP can find this purchase order by.' },
    supplierId: refs.identifier,
    company: refs.identifier,
    orderDate: refs.date,
    currency: refs.currencyCode,
    total: refs.money,
    lines: { type: 'array', minItems: 1, items: refs.orderLine },
    status: { enum: ['open', 'cancelled', 'closed'] },
  },
  examples: [
    {
      docType: 'PurchaseOrder',
      sourceRef: { system: 'coupa', id: '4711', version: 2 },
      externalReference: 'COUPA-4711',
      supplierId: 'S-2001',
      company: 'FS-DEMO',
      orderDate: '2026-11-27',
      currency: 'EUR',
      total: { amount: '1100.00', currency: 'EUR' },
      lines: [
        {
          lineId: '1',
          description: 'Consulting days, architecture review',
          quantity: '1',
          unitOfMeasure: 'DAY',
          unitPrice: { amount: '1000.00', currency: 'EUR' },
          amount: { amount: '1000.00', currency: 'EUR' },
          taxCode: 'DE19',
          accountAssignments: [
            { dimensions: { costCenter: 'CC-100', glAccount: '6300' }, amount: { amount: '333.34', currency: 'EUR' } },
            { dimensions: { costCenter: 'CC-200', glAccount: '6300' }, amount: { amount: '333.33', currency: 'EUR' } },
            { dimensions: { project: 'PRJ-7', glAccount: '6300' }, amount: { amount: '333.33', currency: 'EUR' } },
          ],
        },
        {
          lineId: '2',
          description: 'Travel allowance',
          quantity: '1',
          unitPrice: { amount: '100.00', currency: 'EUR' },
          amount: { amount: '100.00', currency: 'EUR' },
          accountAssignments: [{ dimensions: { costCenter: 'CC-100', glAccount: '6650' }, percent: '100' }],
        },
      ],
      status: 'open',
    },
  ],
} as const;
