/** BudgetCheckResult: the ERP's answer to a funds check (msg.budget). */
import { refs } from './refs';

export const budgetCheckResultSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://finance-sync.dev/schemas/budget-check-result.json',
  title: 'BudgetCheckResult',
  description:
    'The outcome of a funds check. All amounts are in currency; available may be negative when the budget ' +
    'is already overspent. Status deferred: the ERP has no funds check call and checks the budget when the ' +
    'document is written (SAP availability control). available is absent when the ERP gave no figures: ' +
    'status deferred, a budget refusal at the write (exceeded), or a deciding budget the ERP does not have. ' +
    'The figures are those of the deciding budget, named by key (absent when deferred); requested is what the ' +
    'document asks of it (for a revision netted against its own purchase order, only the change). finance-' +
    'budget-check adds checks: one entry per budget checked, and, when it reserves what passes, ' +
    'reservedByOthers: what other documents hold of the budget, already taken off available.',
  type: 'object',
  additionalProperties: false,
  required: ['status', 'requested', 'currency', 'period', 'checkedAt', 'erpMessages'],
  properties: {
    status: { enum: ['within', 'exceeded', 'warning', 'deferred'] },
    requested: refs.money,
    available: refs.money,
    reservedByOthers: refs.money,
    budget: refs.money,
    currency: refs.currencyCode,
    period: refs.period,
    checkedAt: refs.dateTime,
    erpMessages: { type: 'array', items: refs.erpMessage },
    key: { type: 'string', minLength: 1 },
    checks: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['key', 'dimensions', 'period', 'requested', 'available', 'budget', 'status', 'lineIds'],
        properties: {
          key: { type: 'string', minLength: 1 },
          dimensions: refs.dimensions,
          period: refs.period,
          requested: refs.money,
          available: refs.money,
          reservedByOthers: refs.money,
          budget: refs.money,
          status: { enum: ['within', 'exceeded', 'warning'] },
          lineIds: { type: 'array', items: { type: 'string' } },
          noBudget: { const: true },
        },
      },
    },
  },
  examples: [
    {
      status: 'exceeded',
      requested: { amount: '275.50', currency: 'EUR' },
      available: { amount: '-120.00', currency: 'EUR' },
      budget: { amount: '5000.00', currency: 'EUR' },
      currency: 'EUR',
      period: '2026-11',
      checkedAt: '2026-11-27T09:14:05Z',
      erpMessages: [
        { code: 'BUDGET_EXCEEDED', severity: 'error', text: 'Cost center CC-100 has no funds left in 2026-11.' },
      ],
    },
  ],
} as const;
