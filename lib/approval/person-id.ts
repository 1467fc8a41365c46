/**
 * Person ids as they identify people: the same person whatever the letter case or surrounding spaces. Sources,
 * approver apps and master data do not agree on either ("E900", "e900", "E900 "), and an exact comparison let a
 * submitter approve their own report by sending their id in another case. Every comparison of two person ids in
 * approval (routing, delegations, decisions, escalation) goes through here.
 */

/** The form two ids are compared in: trimmed and case-folded. */
export function personKey(id: string): string {
  return id.trim().toLowerCase();
}

/** True when both ids name the same person. */
export function sameId(a: string | undefined, b: string | undefined): boolean {
  return a !== undefined && b !== undefined && personKey(a) === personKey(b);
}
