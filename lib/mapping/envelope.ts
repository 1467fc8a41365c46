/**
 * msg.finance after mapping: the envelope intake made, with the document's type and id filled in where
 * intake could not know them (a Concur or Ramp event only announces a document; a flow without intake has
 * no envelope at all). What intake set is never overwritten: it is the event's identity.
 */
import type { FinanceEnvelope } from '../model/types';
import type { MappedDocType } from './documents';

export function envelopeWithDocument(
  envelope: unknown,
  docType: MappedDocType,
  docId: string,
): Partial<FinanceEnvelope> & Pick<FinanceEnvelope, 'docType' | 'docId'> {
  const current: Partial<FinanceEnvelope> =
    typeof envelope === 'object' && envelope !== null && !Array.isArray(envelope) ? (envelope as object) : {};
  return {
    ...current,
    docType: typeof current.docType === 'string' && current.docType !== '' ? current.docType : docType,
    docId: typeof current.docId === 'string' && current.docId !== '' ? current.docId : docId,
  };
}
