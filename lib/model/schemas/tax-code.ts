/** Tax code master record. */
import { MASTER_RECORD_PROPERTIES, MASTER_RECORD_REQUIRED, RATE_PATTERN } from './common';
import { refs } from './refs';

export const taxCodeSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://finance-sync.dev/schemas/tax-code.json',
  title: 'TaxCode',
  description: 'A tax code with its country and rate (a decimal string percent, never a float).',
  type: 'object',
  additionalProperties: false,
  required: [...MASTER_RECORD_REQUIRED, 'country', 'rate'],
  properties: {
    ...MASTER_RECORD_PROPERTIES,
    country: refs.countryCode,
    rate: { type: 'string', pattern: RATE_PATTERN, description: 'Rate in percent, e.g. "19.00".' },
  },
  examples: [
    {
      id: 'DE19',
      name: 'Germany standard VAT 19 %',
      modifiedAt: '2026-01-01T00:00:00Z',
      company: 'FS-DEMO',
      country: 'DE',
      rate: '19.00',
    },
  ],
} as const;
