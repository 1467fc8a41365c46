/** General ledger account master record. */
import { MASTER_RECORD_PROPERTIES, MASTER_RECORD_REQUIRED } from './common';

export const glAccountSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://finance-sync.dev/schemas/gl-account.json',
  title: 'GlAccount',
  description: 'A general ledger account, its type and whether it accepts postings.',
  type: 'object',
  additionalProperties: false,
  required: [...MASTER_RECORD_REQUIRED, 'type', 'open'],
  properties: {
    ...MASTER_RECORD_PROPERTIES,
    type: { enum: ['expense', 'asset', 'liability', 'revenue', 'equity'] },
    open: { type: 'boolean' },
  },
  examples: [
    {
      id: '6110',
      name: 'Travel - lodging',
      modifiedAt: '2026-01-05T00:00:00Z',
      company: 'FS-DEMO',
      type: 'expense',
      open: true,
    },
  ],
} as const;
