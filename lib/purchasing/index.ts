/** Procurement sync: purchase orders from versioned requisition and purchase-order events (finance-purchase-order). */
export { KeyedQueue } from './keyed-queue';
export {
  contentOf,
  eventDate,
  externalReferenceOf,
  isCancel,
  purchaseDocumentOf,
  toPurchaseOrder,
  versionOf,
  type PurchaseDocument,
  type PurchaseOrderContent,
} from './document';
export {
  applyChanges,
  diffPurchaseOrder,
  isEmptyPatch,
  patchBetween,
  stableJson,
  summarise,
  type ChangeSummary,
  type LineField,
  type PurchaseOrderChange,
} from './diff';
export {
  documentCheck,
  masterDataFailures,
  type DocumentCheck,
  type MasterDataLookup,
  type ValidationFailure,
} from './validate';
export {
  MasterDataCache,
  lookupOf,
  readMasterData,
  type MasterDataCacheOptions,
  type MasterDataSnapshot,
  type MasterDataSource,
} from './master-data';
export { RefreshingCache, type RefreshingCacheOptions } from './refreshing-cache';
export { updatePurchaseOrder, type UpdateOutcome, type UpdateRequest } from './update';
export {
  VERSIONS_NAMESPACE,
  VersionBook,
  versionVerdict,
  type AppliedVersion,
  type PurchaseOrderAction,
  type VersionVerdict,
} from './versions';
export {
  CANCEL_OPERATION,
  CREATE_OPERATION,
  UPDATE_OPERATION,
  syncPurchaseOrder,
  type PurchaseOrderErp,
  type PurchaseOrderResult,
  type SyncDependencies,
  type SyncInput,
  type SyncResult,
} from './sync';
export {
  DEFAULT_MASTER_DATA_REFRESH_MINUTES,
  purchaseOrderSettings,
  type PurchaseOrderDialogSettings,
  type PurchaseOrderSettings,
} from './settings';
export {
  PURCHASE_ORDER_CHECKED_TOPIC,
  UNSETTLED_CREATES_NAMESPACE,
  UnsettledCreates,
  recordPurchaseOrderCheck,
  type UnsettledCreate,
} from './unsettled-create';
export { budgetRefusalResult, budgetWarningResult, isBudgetRefusal } from './budget-refusal';
