/** Requisition: a purchase request from the procurement platform, before it becomes a purchase order. */
import { refs } from './refs';

export const requisitionSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://finance-sync.dev/schemas/requisition.json',
  title: 'Requisition',
  description:
    'A requisition in the canonical model. All amounts are in currency; each line amount is quantity x ' +
    'unitPrice and its account assignments add up exactly to it (checked after the schema).',
  type: 'object',
  additionalProperties: false,
  required: [
    'docType',
    'sourceRef',
    'requisitionId',
    'requesterId',
    'supplierId',
    'state',
    'currency',
    'total',
    'lines',
  ],
  properties: {
    docType: { const: 'Requisition' },
    sourceRef: refs.sourceRef,
    erpRef: refs.erpRef,
    requisitionId: refs.identifier,
    requesterId: refs.identifier,
    supplierId: refs.identifier,
    company: refs.identifier,
    state: refs.approvalState,
    currency: refs.currencyCode,
    total: refs.money,
    lines: { type: 'array', minItems: 1, items: refs.orderLine },
    cancelled: { type: 'boolean' },
  },
  examples: [
    {
      docType: 'Requisition',
      sourceRef: { system: 'coupa', id: '4711', version: 2 },
      requisitionId: '4711',
      requesterId: 'E-1042',
      supplierId: 'S-2001',
      company: 'FS-DEMO',
      state: 'approved',
      currency: 'EUR',
      total: { amount: '3157.50', currency: 'EUR' },
      lines: [
        {
          lineId: '1',
          description: 'Laptop 14" developer edition',
          itemCode: 'HW-LT14',
          quantity: '2',
          unitOfMeasure: 'EA',
          unitPrice: { amount: '1499.00', currency: 'EUR' },
          amount: { amount: '2998.00', currency: 'EUR' },
          taxCode: 'DE19',
          needBy: '2026-12-15',
          accountAssignments: [{ dimensions: { costCenter: 'CC-100', glAccount: '0420' }, percent: '100' }],
        },
        {
          lineId: '2',
          description: 'USB-C docking station',
          quantity: '1.5',
          unitPrice: { amount: '106.33', currency: 'EUR' },
          amount: { amount: '159.50', currency: 'EUR' },
          accountAssignments: [
            { dimensions: { costCenter: 'CC-100', glAccount: '6815' }, percent: '66.67' },
            { dimensions: { costCenter: 'CC-200', glAccount: '6815' }, percent: '33.33' },
          ],
        },
      ],
    },
  ],
} as const;
