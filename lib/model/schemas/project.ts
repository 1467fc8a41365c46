/** Project master record. */
import { MASTER_RECORD_PROPERTIES, MASTER_RECORD_REQUIRED } from './common';
import { refs } from './refs';

export const projectSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://finance-sync.dev/schemas/project.json',
  title: 'Project',
  description: 'A project that costs can be charged to, with its status and owner.',
  type: 'object',
  additionalProperties: false,
  required: [...MASTER_RECORD_REQUIRED, 'status'],
  properties: {
    ...MASTER_RECORD_PROPERTIES,
    status: { enum: ['open', 'closed', 'on_hold'] },
    ownerId: refs.identifier,
  },
  examples: [
    {
      id: 'PRJ-7',
      name: 'Alpine Logistics rollout',
      modifiedAt: '2026-11-02T12:00:00Z',
      company: 'FS-DEMO',
      status: 'open',
      ownerId: 'E-0007',
    },
  ],
} as const;
