/**
 * How a webhook path is matched, the same way on Node-RED's server and on an own port: a sender that reaches
 * the node in one mode must reach it in the other, since a 404 is an event lost (Concur does not retry it).
 */

/**
 * The key a request path matches under, the way Express routes match it (Express 4 and 5 alike: `sensitive`
 * and `strict` off): letter case ignored, one trailing slash optional. Routes are stored and looked up by it,
 * so two paths with one key are one route.
 */
export function routeKey(path: string): string {
  const lower = path.toLowerCase();
  return lower.length > 1 && lower.endsWith('/') ? lower.slice(0, -1) : lower;
}
