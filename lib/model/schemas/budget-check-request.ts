/** BudgetCheckRequest: what the budget-check node asks the ERP. */
import { refs } from './refs';

export const budgetCheckRequestSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://finance-sync.dev/schemas/budget-check-request.json',
  title: 'BudgetCheckRequest',
  description:
    'A funds check for an amount against the budget of a cost center, project and/or GL account in a period.',
  type: 'object',
  additionalProperties: false,
  required: ['period', 'amount'],
  properties: {
    company: refs.identifier,
    costCenter: refs.identifier,
    project: refs.identifier,
    glAccount: refs.identifier,
    period: refs.period,
    amount: refs.money,
  },
  examples: [
    {
      company: 'FS-DEMO',
      costCenter: 'CC-100',
      glAccount: '6110',
      period: '2026-11',
      amount: { amount: '275.50', currency: 'EUR' },
    },
  ],
} as const;
