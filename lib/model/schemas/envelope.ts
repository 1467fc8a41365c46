/** msg.finance: CloudEvents 1.0 attributes plus correlation (DESIGN section 5). */
import { refs } from './refs';

export const envelopeSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://finance-sync.dev/schemas/envelope.json',
  title: 'FinanceEnvelope',
  description:
    'The envelope every finance-sync message carries in msg.finance. source + id identify the event and are ' +
    'the de-duplication key; correlationId follows the event from intake to write-back.',
  type: 'object',
  additionalProperties: false,
  required: ['id', 'source', 'type', 'time', 'correlationId', 'docType', 'docId', 'attempt'],
  properties: {
    id: { ...refs.identifier, description: 'Event id, unique per source.' },
    source: { ...refs.identifier, description: 'Event source, e.g. "concur" or a CloudEvents source URI.' },
    type: { ...refs.identifier, description: 'Event type, e.g. "expense.report.submitted".' },
    subject: { type: 'string' },
    time: refs.dateTime,
    correlationId: refs.identifier,
    causationId: refs.identifier,
    docType: { ...refs.identifier, description: 'The canonical document type in msg.payload, e.g. "ExpenseReport".' },
    docId: refs.identifier,
    version: { type: 'integer', minimum: 0, description: 'The document version in the source, when it has one.' },
    attempt: { type: 'integer', minimum: 1, description: 'Delivery attempt, 1 for the first.' },
  },
  examples: [
    {
      id: 'evt-7f3c2a90-1d4e-4c1b-9a55-0b2f6d1e8c11',
      source: 'concur',
      type: 'expense.report.submitted',
      subject: 'report/57EE1FDA348046E8A08B',
      time: '2026-11-27T09:14:03Z',
      correlationId: '0b6c9a4e-2f51-4f3e-8d7a-5c1e9b2d4a60',
      docType: 'ExpenseReport',
      docId: '57EE1FDA348046E8A08B',
      version: 3,
      attempt: 1,
    },
  ],
} as const;
