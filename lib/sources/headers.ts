/**
 * Header lookup that does not depend on how the headers arrived. Node's HTTP server lower-cases names,
 * but headers that travel inside a message (MQTT user properties, msg.headers set by a function node, a
 * test) keep whatever case and stray whitespace the producer used, and a repeated header may be an array.
 */

/** Headers as Node's `IncomingMessage.headers` and Node-RED's `msg.req.headers` carry them. */
export type HeaderMap = Record<string, string | string[] | undefined>;

/**
 * Every value sent under `name`, compared case-insensitively and ignoring whitespace around names and
 * values. Several entries (an array, or the same name in two spellings) give several values, so callers can
 * tell "missing" from "sent twice".
 */
export function headerValues(headers: HeaderMap | undefined, name: string): string[] {
  const wanted = name.trim().toLowerCase();
  const values: string[] = [];
  for (const [key, value] of Object.entries(headers ?? {})) {
    if (key.trim().toLowerCase() !== wanted || value === undefined) continue;
    for (const item of Array.isArray(value) ? value : [value]) {
      if (typeof item === 'string' && item.trim() !== '') values.push(item.trim());
    }
  }
  return values;
}
