/**
 * The time of an observation as ISO 8601 text. `new Date().toISOString()` costs about half a microsecond, and
 * every node outcome and ERP call is observed (about ten per pipeline event, tens of thousands a second in a
 * mapping flow), so the text is made once per millisecond and reused within it: the same text, at the same
 * millisecond resolution.
 */
let textMs = Number.NaN;
let text = '';

export function isoNow(): string {
  const now = Date.now();
  if (now !== textMs) {
    textMs = now;
    text = new Date(now).toISOString();
  }
  return text;
}
