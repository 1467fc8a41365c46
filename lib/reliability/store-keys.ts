/**
 * The key formats of the store, built in one place so every node de-duplicates and looks up the same way.
 */

/** The inbox (de-duplication) key of an event: its `source` and `id`, which together are unique (DESIGN 5). */
export function inboxKey(source: string, id: string): string {
  // NUL cannot occur in a CloudEvents source URI or id, so the pair is unambiguous.
  return `${source}\u0000${id}`;
}

export interface LedgerKeyParts {
  source: string;
  docType: string;
  docId: string;
  version: string | number;
  /** What the write does, e.g. `create-po`, `post`, `writeback`. */
  operation: string;
}

/**
 * The ledger key of one ERP write: `source:docType:docId:version:operation` (DESIGN 7). A `:` or `%` inside
 * a part is percent-encoded so that two different writes can never share a key.
 */
export function ledgerKey(parts: LedgerKeyParts): string {
  return [parts.source, parts.docType, parts.docId, String(parts.version), parts.operation]
    .map((part) => part.replace(/%/g, '%25').replace(/:/g, '%3A'))
    .join(':');
}

/**
 * The node id in an inbox lease owner. Intakes lease as `<node id>@<process>` (lib/intake/recovery.ts,
 * leaseOwnerFor); an owner written before owners named their process is the node id itself.
 */
export function nodeIdOfOwner(owner: string): string {
  const at = owner.lastIndexOf('@');
  return at < 0 ? owner : owner.slice(0, at);
}
