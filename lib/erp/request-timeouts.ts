/**
 * The longest request timeout of any ERP or source API client created in this process. A process that dies
 * leaves requests that the ERP may still be working on until their timeout and after; the ledger's heartbeat
 * (lib/posting/attempt-liveness.ts) outlives the process that long and as long again, so a restarted process
 * does not look a document up, find nothing and write it again while the ERP is still writing the first.
 */
let longest = 0;

export function noteRequestTimeout(timeoutMs: number): void {
  if (timeoutMs > longest) longest = timeoutMs;
}

export function longestRequestTimeoutMs(): number {
  return longest;
}
