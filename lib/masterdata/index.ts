/** Master data: sync from the owner into the store, change messages, enrichment, and the cache as a lister. */
export { MasterDataCache, type KindSyncState } from './cache';
export { cachedLister, masterDataCacheOption, masterDataListerFor } from './cached-lister';
export { compareRecords, sameContent, type ChangeType, type MasterDataChange } from './changes';
export { erpElseSourceLister, isNotPublished } from './fallback-lister';
export { enrich, referencesOf, type EnrichResult, type Enrichment, type Miss, type Reference } from './enrich';
export { MASTER_DATA_KINDS, isMasterDataKind, type MasterDataKind, type MasterDataLister } from './kinds';
export { RetainedPublisher, checkTopicPrefix, recordTopic } from './publish';
export { syncRequestOf, type SyncRequest } from './request';
export { SyncRunner, type KindOwner, type SyncRunnerOptions, type SyncSummary } from './runner';
export {
  DEFAULT_CACHE,
  checkCacheName,
  masterDataSettings,
  type MasterDataDialogSettings,
  type MasterDataSettings,
  type Owner,
} from './settings';
export { sourceLister, checkSourcePath } from './source-lister';
export { syncKind, type KindSyncResult, type SyncKindOptions, type SyncMode } from './sync';
