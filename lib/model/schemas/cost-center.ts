/** Cost center master record; a closed cost center takes no new charges. */
import { MASTER_RECORD_PROPERTIES, MASTER_RECORD_REQUIRED } from './common';
import { refs } from './refs';

export const costCenterSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://finance-sync.dev/schemas/cost-center.json',
  title: 'CostCenter',
  description: 'A cost center, its owner (the default approver for exceptions) and whether it is open.',
  type: 'object',
  additionalProperties: false,
  required: [...MASTER_RECORD_REQUIRED, 'open'],
  properties: {
    ...MASTER_RECORD_PROPERTIES,
    ownerId: refs.identifier,
    open: { type: 'boolean' },
  },
  examples: [
    {
      id: 'CC-100',
      name: 'Engineering',
      modifiedAt: '2026-10-01T00:00:00Z',
      company: 'FS-DEMO',
      ownerId: 'E-0007',
      open: true,
    },
  ],
} as const;
