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

export interface ErpConnection {
  client: ErpClient;
  dialect: ErpDialect;
}

export interface FinanceErpNode extends Node<ErpCredentials> {
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

export interface FinanceStoreNode extends Node {
  /** The open store; throws STORE_UNAVAILABLE (with the reason) when it could not be opened. */
  store(): FinanceStore;
}

/**
 * What `finance-source` offers: how to read this source's events and how to reach its API for write-back.
 * When the source's settings are invalid, every member throws FinanceError CONFIG_INVALID naming the setting.
 */
export interface FinanceSourceNode extends Node {
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
