/**
 * The status write-back target: stands in for the source system (expense or procurement platform) that is
 * told the outcome and the ERP's references. Every call is kept, so a test can prove each status arrived once.
 */
import type { SandboxState } from './state';
import type { SandboxResponse, Writeback } from './types';
import { FieldErrors, bodyObject, isObject, readString } from './validate';

export function receiveWriteback(state: SandboxState, rawBody: unknown): SandboxResponse {
  const body = bodyObject(rawBody);
  const errors = new FieldErrors();
  const system = readString(body, 'system', '', errors, { required: true, maxLength: 100 });
  const documentId = readString(body, 'documentId', '', errors, { required: true, maxLength: 200 });
  const status = readString(body, 'status', '', errors, { required: true, maxLength: 50 });
  const correlationId = readString(body, 'correlationId', '', errors, { maxLength: 200 });
  const erpRef = body.erpRef;
  if (erpRef !== undefined && typeof erpRef !== 'string' && !isObject(erpRef)) {
    errors.add('/erpRef', 'must be the ERP reference as an object (canonical ErpRef) or a string');
  }
  errors.throwIfAny(400);
  const writeback: Writeback = {
    id: state.newId(),
    system: system as string,
    documentId: documentId as string,
    status: status as string,
    ...(erpRef !== undefined ? { erpRef } : {}),
    ...(correlationId ? { correlationId } : {}),
    receivedAt: state.timestamp(),
  };
  state.writebacks.push(writeback);
  state.counters.writes += 1;
  return { status: 200, body: writeback };
}
