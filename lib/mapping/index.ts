/** Canonical mapping: source documents into the canonical model, validated, with every violation listed. */
export { documentIdOf, isMappedDocType, MAPPED_DOC_TYPES, type MappedDocType, type MappedDocument } from './documents';
export { envelopeWithDocument } from './envelope';
export { jsonataCompileProblem, jsonataViolation, sourceViolation } from './failures';
export { completeMapping, invalid, type MappingOutcome, type MappingTarget } from './outcome';
export { mapWithProfile, remapReplayed, type SeparateData } from './profile-mapping';
export {
  mapSettings,
  MAPPINGS,
  STATE_SYSTEMS,
  type MapDialogSettings,
  type MapSettings,
  type MappingName,
} from './settings';
export { normaliseDocumentState, type StateNormalisation } from './states';
