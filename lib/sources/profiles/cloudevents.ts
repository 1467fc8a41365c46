/**
 * CloudEvents 1.0 in structured JSON mode whose `data` is already a canonical document: the profile for
 * senders that speak the pack's model (another Node-RED flow, an in-house system, the sample generator).
 * The document is only checked lightly here; the full schema validation happens in the map node.
 */
import type { CanonicalDocument, EventFacts, SourceDocType, SourceProfile } from './profile';
import { describe, shapeReader, withoutUndefined, type JsonObject } from '../shape';

const read = shapeReader(
  'CloudEvent',
  'Send a CloudEvents 1.0 event in structured mode (Content-Type: application/cloudevents+json) whose data is ' +
    'a canonical ExpenseReport or Requisition.',
);

/** The field that holds the document's id, per canonical document type. */
const ID_FIELD: Record<SourceDocType, 'reportId' | 'requisitionId'> = {
  ExpenseReport: 'reportId',
  Requisition: 'requisitionId',
};

const JSON_CONTENT_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;.*)?$/i;

export function createCloudEventsProfile(): SourceProfile {
  return {
    name: 'cloudevents',
    docType: 'ExpenseReport',
    signatureScheme: 'generic',
    embedsCanonical: true,
    canonicalPointer: '/data',
    envelopeOf(body: unknown): EventFacts {
      const event = read.object(body, '');
      checkSpecVersion(event);
      const { docType, docId, version } = documentOf(event);
      return withoutUndefined({
        id: read.string(event.id, '/id'),
        source: read.string(event.source, '/source'),
        type: read.string(event.type, '/type'),
        subject: read.optionalString(event.subject, '/subject'),
        time: timeOf(event),
        docType,
        docId,
        version,
      });
    },
    toCanonical(body: unknown): CanonicalDocument {
      const event = read.object(body, '');
      checkSpecVersion(event);
      return documentOf(event).document;
    },
  };
}

/**
 * CloudEvents makes `time` optional, but the pack's envelope carries it through every step (latency
 * metrics, approval SLAs), so an event must say when it happened.
 */
function timeOf(event: JsonObject): string {
  if (event.time === undefined) {
    throw read.fail('/time', 'is missing; this pack needs the time the event happened (RFC 3339)');
  }
  return read.dateTime(event.time, '/time');
}

function checkSpecVersion(event: JsonObject): void {
  if (event.specversion === undefined) {
    throw read.fail('/specversion', 'is missing (binary-mode events with ce-* headers are not supported)');
  }
  if (event.specversion !== '1.0') {
    throw read.fail('/specversion', `must be "1.0", got ${describe(event.specversion)}`);
  }
}

function documentOf(event: JsonObject): {
  document: CanonicalDocument;
  docType: SourceDocType;
  docId: string;
  version?: number;
} {
  if (event.datacontenttype !== undefined) {
    const contentType = read.string(event.datacontenttype, '/datacontenttype');
    if (!JSON_CONTENT_TYPE.test(contentType)) {
      throw read.fail(
        '/datacontenttype',
        `must be a JSON media type such as "application/json", got ${describe(contentType)}`,
      );
    }
  }
  if (event.data_base64 !== undefined) {
    throw read.fail('/data_base64', 'binary data is not supported; put the document as JSON in "data"');
  }
  const data = read.object(event.data, '/data');
  const docType = data.docType;
  if (docType !== 'ExpenseReport' && docType !== 'Requisition') {
    throw read.fail('/data/docType', `must be "ExpenseReport" or "Requisition", got ${describe(docType)}`);
  }
  const idField = ID_FIELD[docType];
  const docId = read.string(data[idField], `/data/${idField}`);
  const sourceRef = read.object(data.sourceRef, '/data/sourceRef');
  read.string(sourceRef.system, '/data/sourceRef/system');
  read.string(sourceRef.id, '/data/sourceRef/id');
  const version = read.optionalInteger(sourceRef.version, '/data/sourceRef/version');
  return { document: data as unknown as CanonicalDocument, docType, docId, version };
}
