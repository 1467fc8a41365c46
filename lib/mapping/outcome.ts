/**
 * The last steps of every mapping, whichever way the document was produced (built-in profile or JSONata):
 * normalise the approval state, decide the document type, validate against the canonical schema and the
 * money rules, and report either the valid document or every violation found.
 */
import { validateDocument } from '../model/validate';
import type { StateSystem } from '../model/states';
import type { Violation } from '../model/violations';
import { documentIdOf, isMappedDocType, MAPPED_DOC_TYPES, type MappedDocType, type MappedDocument } from './documents';
import { normaliseDocumentState } from './states';

export type MappingOutcome =
  | { valid: true; docType: MappedDocType; docId: string; document: MappedDocument }
  | { valid: false; errors: Violation[] };

export interface MappingTarget {
  /** The type the document must be; "auto" takes the document's own docType (one of MAPPED_DOC_TYPES). */
  docType: MappedDocType | 'auto';
  /** The source system whose status codes the document's `state` may still carry. */
  stateSystem?: StateSystem;
}

export function invalid(...errors: Violation[]): MappingOutcome {
  return { valid: false, errors };
}

function describeResult(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return `a ${typeof value}`;
}

export function completeMapping(mapped: unknown, target: MappingTarget): MappingOutcome {
  if (typeof mapped !== 'object' || mapped === null || Array.isArray(mapped)) {
    return invalid({
      path: '',
      rule: 'type',
      message:
        `The mapping produced ${describeResult(mapped)} instead of a document object; ` +
        'make the mapping return one canonical document for each message.',
    });
  }
  const normalised = normaliseDocumentState(mapped as Record<string, unknown>, target.stateSystem);
  const stateViolations = 'violation' in normalised ? [normalised.violation] : [];
  const document = 'document' in normalised ? normalised.document : (mapped as Record<string, unknown>);

  const docType = target.docType === 'auto' ? document.docType : target.docType;
  if (typeof document.docType === 'string' && document.docType !== docType && isMappedDocType(docType)) {
    // Validating a requisition as an expense report would list every field the two differ in; one line says it.
    return invalid({
      path: '/docType',
      rule: 'docType',
      message:
        `The mapping produced a ${JSON.stringify(document.docType)} document but this node expects ${docType}; ` +
        'fix the mapping, or set the document type to "From the document\'s docType".',
    });
  }
  if (!isMappedDocType(docType)) {
    return invalid({
      path: '/docType',
      rule: 'docType',
      message:
        `The document's docType is ${JSON.stringify(docType) ?? 'missing'}; it must be one of ` +
        `${MAPPED_DOC_TYPES.join(', ')}.`,
    });
  }
  const result = validateDocument(docType, document);
  // A state the table does not know also fails the schema's enum; the table's message says more.
  const schemaViolations = result.valid
    ? []
    : result.errors.filter((error) => !(stateViolations.length > 0 && error.path === '/state'));
  const errors = [...stateViolations, ...schemaViolations];
  if (errors.length > 0) return invalid(...errors);
  const valid = document as unknown as MappedDocument;
  return { valid: true, docType, docId: documentIdOf(valid), document: valid };
}
