/**
 * Write-back to SAP Concur Expense through Expense Reports v4 (../shared/specs/concur/v4.reports.markdown,
 * "Update a Specific Report"): PATCH {base}/expensereports/v4/users/{userID}/context/TRAVELER/reports/{reportId}
 * with a JSON Merge Patch (RFC 7386), answered 204.
 *
 * What is really writable there: the UpdateReport schema lists business purpose, comment, country, dates, name,
 * policy, `customData` and the required `reportSource`. The approval status is NOT among them (it moves only
 * through the workflow endpoints, approve / sendBack, which are the approver's actions, not ours), and Concur
 * has no field for an ERP reference. So the ERP document number goes into a report custom field that the
 * Concur administrator sets up for it (e.g. `custom15`, text, at most 48 characters), and optionally the
 * status into another one. `reportSource` is `OTHER` ("Unknown"), the value for an integration.
 */
import type { ErpHttp } from '../erp/client';
import { FinanceError } from '../errors';
import type { WritebackDelivery, WritebackRequest, WritebackTarget } from './target';

export interface ConcurTargetOptions {
  /** Report custom field id that receives the ERP document number, e.g. "custom15". */
  numberField: string;
  /** Report custom field id that receives the status; without it only posted reports are written to. */
  statusField?: string;
}

/** CustomData.value: "Maximum length: 48 characters". */
export const CONCUR_CUSTOM_VALUE_MAX = 48;
/** Custom field ids as Concur names them: custom1..custom40, orgUnit1..orgUnit6. */
export const CONCUR_CUSTOM_FIELD_ID = /^(custom|orgUnit)\d{1,2}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

interface CustomData {
  id: string;
  value: string;
}

export function createConcurTarget(http: ErpHttp, options: ConcurTargetOptions): WritebackTarget {
  return {
    name: 'concur',
    async send(request: WritebackRequest): Promise<WritebackDelivery> {
      const customData = customDataOf(request, options);
      if (customData.length === 0) return 'skipped';
      const { userId } = request;
      if (userId === undefined || userId === '') {
        throw new FinanceError(
          'SCHEMA_INVALID',
          `The Concur user id of report ${request.outcome.documentId} is missing: Concur addresses a report through its owner's userID. Set the "User id" property in the node's dialog to where the message carries it.`,
        );
      }
      const reportId = encodeURIComponent(request.outcome.documentId);
      await http.request({
        method: 'PATCH',
        path: `/expensereports/v4/users/${encodeURIComponent(userId)}/context/TRAVELER/reports/${reportId}`,
        body: { reportSource: 'OTHER', customData },
        headers: UUID.test(request.correlationId) ? { 'concur-correlationid': request.correlationId } : {},
        idempotencyKey: request.idempotencyKey,
        correlationId: request.correlationId,
      });
      return 'sent';
    },
  };
}

function customDataOf(request: WritebackRequest, options: ConcurTargetOptions): CustomData[] {
  const { erpRef, status } = request.outcome;
  const fields: CustomData[] = [];
  if (erpRef !== undefined) fields.push({ id: options.numberField, value: erpRef.number ?? erpRef.documentId });
  if (options.statusField !== undefined) fields.push({ id: options.statusField, value: status });
  for (const field of fields) {
    if (field.value.length > CONCUR_CUSTOM_VALUE_MAX) {
      throw new FinanceError(
        'SCHEMA_INVALID',
        `"${field.value}" is longer than the ${CONCUR_CUSTOM_VALUE_MAX} characters a Concur custom field (${field.id}) holds; write back a shorter reference.`,
      );
    }
  }
  return fields;
}
