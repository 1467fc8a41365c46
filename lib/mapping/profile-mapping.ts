/**
 * Mapping with a built-in source profile (lib/sources/profiles): the vendor's document goes through the
 * profile's toCanonical, then through validation. A profile stops at the first thing it cannot read in the
 * vendor's document, so that case reports one violation; everything after it (the canonical schema and
 * money rules) reports every violation at once.
 */
import type { MappingContext, SourceProfile } from '../sources/profiles/profile';
import { sourceViolation } from './failures';
import { completeMapping, invalid, type MappingOutcome, type MappingTarget } from './outcome';

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * True when the payload is already a canonical document: intake unwraps events of profiles that embed one
 * (CloudEvents), so behind intake the payload is the document, while a flow without intake passes the event.
 */
function isUnwrappedDocument(profile: SourceProfile, payload: unknown): boolean {
  return profile.embedsCanonical && isObject(payload) && payload.docType !== undefined;
}

/** What else the source serves apart from the document (Concur: itemizations and allocations), and from where. */
export type SeparateData = Omit<MappingContext, 'lines'>;

/**
 * Maps `payload` with the profile. `lines` is what the source serves separately from the document (Concur:
 * the report's expenses); undefined when there is nothing separate. `separate` holds the rest (Concur's
 * itemizations and allocations, and the message properties they were read from).
 */
export function mapWithProfile(
  profile: SourceProfile,
  payload: unknown,
  lines: unknown,
  target: MappingTarget,
  separate: SeparateData = {},
): MappingOutcome {
  let mapped: unknown;
  try {
    const context = contextOf(lines, separate);
    mapped = isUnwrappedDocument(profile, payload) ? payload : profile.toCanonical(payload, context);
  } catch (error) {
    const violation = sourceViolation(error);
    if (violation === undefined) throw error;
    return invalid(violation);
  }
  return completeMapping(mapped, target);
}

/** Undefined when nothing was served separately, as before itemizations and allocations were passed. */
function contextOf(lines: unknown, separate: SeparateData): MappingContext | undefined {
  const { itemizations, allocations, sources } = separate;
  if (lines === undefined && itemizations === undefined && allocations === undefined) return undefined;
  return {
    lines,
    ...(itemizations !== undefined && { itemizations }),
    ...(allocations !== undefined && { allocations }),
    ...(sources !== undefined && { sources }),
  };
}

/**
 * A message replayed from the dead letters carries the document as it was when it failed. A failure after the
 * mapping (the budget check, the ERP write, the write-back) left a canonical document there, which no profile
 * or JSONata expression of a source can read. So a replayed canonical document is validated again, not
 * mapped again, and a flow may wire its dead letters back to its mapping node whatever the source. Undefined
 * for any other payload.
 */
export function remapReplayed(payload: unknown, target: MappingTarget): MappingOutcome | undefined {
  const canonical = isObject(payload) && typeof payload.docType === 'string' && isObject(payload.sourceRef);
  return canonical ? completeMapping(payload, target) : undefined;
}
