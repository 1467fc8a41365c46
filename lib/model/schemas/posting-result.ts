/** PostingResult: what the ERP returned after posting a journal or a payable. */
import { refs } from './refs';

export const postingResultSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://finance-sync.dev/schemas/posting-result.json',
  title: 'PostingResult',
  description: 'The ERP document a posting created: a journal (expense reimbursement) or a payable (invoice).',
  type: 'object',
  additionalProperties: false,
  required: ['docType', 'kind', 'erpRef', 'amount', 'postedAt'],
  properties: {
    docType: { const: 'Posting' },
    kind: { enum: ['journal', 'payable'] },
    erpRef: refs.erpRef,
    amount: refs.money,
    postedAt: refs.dateTime,
  },
  examples: [
    {
      docType: 'Posting',
      kind: 'journal',
      erpRef: {
        system: 'sandbox',
        dialect: 'sandbox',
        documentType: 'posting',
        documentId: 'b3f1c2d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d',
        number: 'JNL-000042',
        status: 'posted',
      },
      amount: { amount: '275.50', currency: 'EUR' },
      postedAt: '2026-11-27T15:30:00Z',
    },
  ],
} as const;
