/** What the pack's config nodes offer to the flow nodes that use them. */
import type { Node } from 'node-red';
import type { ErpCredentials } from '../../lib/config/erp-connection';
import type { ErpClient } from '../../lib/erp/client';
import type { ErpDialect } from '../../lib/erp/dialect';
import type { CircuitState } from '../../lib/reliability/circuit-breaker';
import type { RetryPolicy } from '../../lib/reliability/retry-policy';
import type { FinanceStore } from '../../lib/reliability/store';
import type { SourceProfile } from '../../lib/sources/profiles/profile';
import type { SignatureScheme } from '../../lib/sources/signatures';
import type { UserHandles } from '../../lib/reliability/user-handles';

export interface ErpConnection {
  client: ErpClient;
  dialect: ErpDialect;
}

/**
 * A config node that owns a resource its flow nodes share: it tears the resource down only once the flow nodes
 * using it have closed (useConfigNodes below), or a bound has passed.
 */
export interface SharedConfigNode {
  readonly users: UserHandles;
}

export interface FinanceErpNode extends Node<ErpCredentials>, SharedConfigNode {
  /** Resolves once the connection is usable (the embedded sandbox, if any, is listening). */
  connection(): Promise<ErpConnection>;
  /** The connection's retry policy, which the nodes calling this ERP apply (see nodes/shared/retrying.ts). */
  retryPolicy: RetryPolicy;
  /**
   * Calls `listener` on every change of the connection's circuit breaker (closed, open, half-open), e.g. to
   * show "circuit open" on a node; returns the function that stops it. A config node has no status of its own.
   */
  onCircuitState(listener: (state: CircuitState) => void): () => void;
}

export interface FinanceStoreNode extends Node, SharedConfigNode {
  /** The open store; throws STORE_UNAVAILABLE (with the reason) when it could not be opened. */
  store(): FinanceStore;
}

/**
 * What `finance-source` offers: how to read this source's events and how to reach its API for write-back.
 * When the source's settings are invalid, every member throws FinanceError CONFIG_INVALID naming the setting.
 */
export interface FinanceSourceNode extends Node, SharedConfigNode {
  /** Profile name: cloudevents | concur | ramp | coupa (lib/sources/profiles). */
  profileName: string;
  profile: SourceProfile;
  signatureScheme: SignatureScheme;
  /** How far a signed timestamp may be from this host's clock, in seconds (default 300). */
  toleranceSeconds: number;
  /**
   * Current and previous webhook secrets from the credential store; never logged or sent on. Throws
   * CONFIG_INVALID when the signature scheme needs a secret that is missing or unusable: only an intake that
   * verifies signatures asks, so a source used for polling or write-back alone needs none.
   */
  webhookSecrets(): string[];
  /**
   * The source system's API for write-back (status and ERP references): an HTTP client with the source's
   * auth, or undefined when no API base URL is configured.
   */
  api(): ErpClient | undefined;
}

/**
 * Takes a handle on each config node `node` uses (finance-store, finance-erp, finance-source; null and
 * undefined are skipped) and releases them once `node` has closed, after every one of its close handlers has
 * finished, and whether it is redeployed or removed. Call it where the node starts, right after it looks its
 * config nodes up.
 *
 * Node-RED closes all nodes of a deploy at once: without the handles a finance-store would close the store
 * while a finance-post still parks a failed write in it, and a finance-erp would abort a write that the node's
 * close would have let finish.
 */
export function useConfigNodes(node: Node, ...configs: (Partial<SharedConfigNode> | null | undefined)[]): void {
  const handles = configs.flatMap((config) => (config?.users ? [config.users.take()] : []));
  if (handles.length === 0) return;
  // Wrapping close (what Node-RED calls to stop a node) is the one place that ends after all close handlers.
  const close = node.close.bind(node);
  node.close = (removed: boolean) =>
    close(removed).finally(() => {
      for (const handle of handles) handle.release();
    });
}
