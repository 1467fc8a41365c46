/** What the pack's config nodes offer to the flow nodes that use them. */
import type { Node } from 'node-red';
import type { ErpCredentials } from '../../lib/config/erp-connection';
import type { ErpClient } from '../../lib/erp/client';
import type { ErpDialect } from '../../lib/erp/dialect';
import type { FinanceStore } from '../../lib/reliability/store';

export interface ErpConnection {
  client: ErpClient;
  dialect: ErpDialect;
}

export interface FinanceErpNode extends Node<ErpCredentials> {
  /** Resolves once the connection is usable (the embedded sandbox, if any, is listening). */
  connection(): Promise<ErpConnection>;
}

export interface FinanceStoreNode extends Node {
  /** The open store; throws STORE_UNAVAILABLE (with the reason) when it could not be opened. */
  store(): FinanceStore;
}
