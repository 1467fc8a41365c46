/** The ERP layer: one client per connection, one dialect per ERP, canonical in and out. */
export {
  ErpClient,
  type ErpClientDependencies,
  type ErpClientStats,
  type ErpHttp,
  type ErpRequest,
  type ErpResponse,
  type HttpMethod,
} from './client';
export {
  DEFAULT_MAX_CONCURRENCY,
  DEFAULT_TIMEOUT_MS,
  resolveConnectionConfig,
  summarizeConnection,
  type AuthConfig,
  type ConnectionSummary,
  type ErpConnectionConfig,
  type OAuth2ClientCredentials,
  type ResolvedConnectionConfig,
  type TlsOptions,
} from './config';
export {
  createDialect,
  DIALECT_NAMES,
  type BudgetAvailability,
  type CallContext,
  type DialectConfig,
  type DialectFactory,
  type ErpDialect,
  type ErpDocumentType,
  type ErpPurchaseOrder,
  type FoundDocument,
  type MasterDataPage,
  type MasterDataQuery,
  type MasterRecord,
  type PostingLine,
  type PostingRef,
  type PostingRequest,
  type PurchaseOrderKey,
  type PurchaseOrderPatch,
  type PurchaseOrderRef,
} from './dialect';
export { errorForResponse, errorForTransport, parseRetryAfter, vendorCodeOf, vendorMessageOf } from './http-errors';
export { RateLimiter, type RateLimit } from './rate-limiter';
export { REDACTED, redactText, redactValue } from './redact';
export { Semaphore, type Release } from './semaphore';
export { systemClock, type Clock } from './clock';
export { SANDBOX_DEFAULT_COMPANY, createSandboxDialect } from './sandbox/dialect';
