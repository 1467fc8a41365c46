/** ApprovalEvent: an approver's decision on a document. */
import { refs } from './refs';

export const approvalEventSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://finance-sync.dev/schemas/approval-event.json',
  title: 'ApprovalEvent',
  description: 'A decision (approve, reject, return) an approver made on the document named by subject.',
  type: 'object',
  additionalProperties: false,
  required: ['docType', 'subject', 'decision', 'approver', 'decidedAt'],
  properties: {
    docType: { const: 'ApprovalEvent' },
    subject: refs.sourceRef,
    decision: { enum: ['approve', 'reject', 'return'] },
    approver: refs.identifier,
    comment: { type: 'string' },
    decidedAt: refs.dateTime,
  },
  examples: [
    {
      docType: 'ApprovalEvent',
      subject: { system: 'concur', id: '57EE1FDA348046E8A08B', version: 3 },
      decision: 'approve',
      approver: 'E-0007',
      comment: 'Workshop agreed with the customer; fine.',
      decidedAt: '2026-11-27T14:02:11Z',
    },
  ],
} as const;
