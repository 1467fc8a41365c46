/** Employee master record: who submits, who approves, and up to which amount. */
import { MASTER_RECORD_PROPERTIES, MASTER_RECORD_REQUIRED } from './common';
import { refs } from './refs';

export const employeeSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://finance-sync.dev/schemas/employee.json',
  title: 'Employee',
  description: 'An employee: manager chain, home cost center and approval limit (in the company currency).',
  type: 'object',
  additionalProperties: false,
  required: [...MASTER_RECORD_REQUIRED, 'active'],
  properties: {
    ...MASTER_RECORD_PROPERTIES,
    email: { type: 'string', format: 'email' },
    managerId: refs.identifier,
    costCenter: refs.identifier,
    approvalLimit: refs.money,
    active: { type: 'boolean' },
  },
  examples: [
    {
      id: 'E-1042',
      name: 'Jana Novak',
      modifiedAt: '2026-11-20T08:00:00Z',
      company: 'FS-DEMO',
      email: 'jana.novak@example.com',
      managerId: 'E-0007',
      costCenter: 'CC-100',
      approvalLimit: { amount: '1000.00', currency: 'EUR' },
      active: true,
    },
  ],
} as const;
