/**
 * The generic write-back: POST {apiBaseUrl}/{path} with `{ system, documentId, status, erpRef, correlationId,
 * version }` and an Idempotency-Key; `version` (the document's sourceRef.version) only for a versioned document,
 * so the receiver can keep statuses in version order. The sandbox ERP implements this at /api/v1/writebacks
 * (lib/sandbox/API.md), where `version` is accepted and not kept.
 */
import type { ErpHttp } from '../erp/client';
import type { WritebackDelivery, WritebackRequest, WritebackTarget } from './target';

export const DEFAULT_WEBHOOK_PATH = 'api/v1/writebacks';

export function createWebhookTarget(http: ErpHttp, path: string = DEFAULT_WEBHOOK_PATH): WritebackTarget {
  const requestPath = `/${path.replace(/^\/+/, '')}`;
  return {
    name: 'webhook',
    async send(request: WritebackRequest): Promise<WritebackDelivery> {
      const { system, documentId, status, erpRef, correlationId } = request.outcome;
      // No timestamp in the body: every attempt must send the same bytes, or the receiver would see the
      // Idempotency-Key reused for another request instead of a retry. The version is part of the write's
      // ledger key, so it is the same for every attempt.
      await http.request({
        method: 'POST',
        path: requestPath,
        body: {
          system,
          documentId,
          status,
          erpRef,
          correlationId,
          ...(request.version === undefined ? {} : { version: request.version }),
        },
        idempotencyKey: request.idempotencyKey,
        correlationId: request.correlationId,
      });
      return 'sent';
    },
  };
}
