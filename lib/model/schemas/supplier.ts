/** Supplier master record; a blocked supplier gets no purchase orders. */
import { MASTER_RECORD_PROPERTIES, MASTER_RECORD_REQUIRED } from './common';
import { refs } from './refs';

export const supplierSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://finance-sync.dev/schemas/supplier.json',
  title: 'Supplier',
  description: 'A supplier: country, default currency, whether it is blocked, and its allowed tax codes.',
  type: 'object',
  additionalProperties: false,
  required: [...MASTER_RECORD_REQUIRED, 'country', 'status'],
  properties: {
    ...MASTER_RECORD_PROPERTIES,
    country: refs.countryCode,
    currency: refs.currencyCode,
    status: { enum: ['active', 'blocked'] },
    taxCodes: { type: 'array', items: refs.identifier, uniqueItems: true },
  },
  examples: [
    {
      id: 'S-2001',
      name: 'Alpine Office Supplies GmbH',
      modifiedAt: '2026-11-18T10:30:00Z',
      company: 'FS-DEMO',
      country: 'DE',
      currency: 'EUR',
      status: 'active',
      taxCodes: ['DE19', 'DE7'],
    },
  ],
} as const;
