/**
 * A message replayed from the dead letters carries the document as it was when it failed. A failure after the
 * mapping (the budget check, the ERP write, the write-back) left a canonical document there, which no profile
 * or JSONata expression of a source can read. So a replayed canonical document is validated again, not
 * mapped again, and a flow may wire its dead letters back to its mapping node whatever the source.
 */
import { completeMapping, type MappingOutcome, type MappingTarget } from './outcome';

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The outcome for a replayed message whose payload is already canonical; undefined for any other payload. */
export function remapReplayed(payload: unknown, target: MappingTarget): MappingOutcome | undefined {
  const canonical = isObject(payload) && typeof payload.docType === 'string' && isObject(payload.sourceRef);
  return canonical ? completeMapping(payload, target) : undefined;
}
