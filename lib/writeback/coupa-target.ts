/**
 * Write-back to Coupa: the ERP's commitment (purchase order) number and its status go into custom fields
 * of the Coupa requisition (or purchase order) the event came from, with
 * `PUT /api/requisitions/{id}` `{"custom-fields": {"<field>": "<value>"}}`.
 *
 * What rests on Coupa's documentation [D] and what is assumed [U]:
 * - [D] A record is updated with PUT to its URL (Requisitions API: `PUT /api/requisitions/:id`, action
 *   update); custom fields are set inside `custom-fields` by their field name, the technical name shown in
 *   Coupa Setup > Company Setup > Custom Fields ("for API, field-names are used in the payload"; Coupa's
 *   sample is XML, `<custom-fields><field_name>..</field_name></custom-fields>`).
 * - [U] Coupa has no standard requisition field for the ERP's PO number, so the fields are ones the Coupa
 *   administrator creates (text, 255 characters); their names are the dialog's (defaults `erp-po-number`
 *   and `erp-po-status`). The JSON form of the body is assumed from the XML sample, as for the rest of the
 *   pack's Coupa support.
 * - [U] The PUT is treated as safe to repeat (it sets the same values again), so it is sent without a lookup.
 */
import type { ErpHttp } from '../erp/client';
import { FinanceError } from '../errors';
import type { WritebackDelivery, WritebackRequest, WritebackTarget } from './target';

export interface CoupaTargetOptions {
  /** Custom field (its API name) that receives the ERP purchase order number. */
  numberField: string;
  /** Custom field that receives the status (ordered, cancelled, budget_exceeded...); none: not written. */
  statusField?: string;
}

/** Coupa text custom fields hold up to 255 characters. */
export const COUPA_CUSTOM_VALUE_MAX = 255;
/** A custom field's API name: letters, digits, dashes and underscores. */
export const COUPA_CUSTOM_FIELD_NAME = /^[a-z][a-z0-9_-]{0,63}$/i;

export function createCoupaTarget(http: ErpHttp, options: CoupaTargetOptions): WritebackTarget {
  return {
    name: 'coupa',
    async send(request: WritebackRequest): Promise<WritebackDelivery> {
      const fields = customFieldsOf(request, options);
      if (Object.keys(fields).length === 0) return 'skipped';
      const resource = request.docType === 'PurchaseOrder' ? 'purchase_orders' : 'requisitions';
      const id = request.outcome.documentId;
      if (!/^[1-9]\d*$/.test(id)) {
        throw new FinanceError(
          'SCHEMA_INVALID',
          `"${id}" is not a Coupa record id (a positive whole number), so there is no Coupa ${resource} record to write back to; map the document with the Coupa profile.`,
        );
      }
      await http.request({
        method: 'PUT',
        path: `/api/${resource}/${id}`,
        body: { 'custom-fields': fields },
        idempotencyKey: request.idempotencyKey,
        correlationId: request.correlationId,
      });
      return 'sent';
    },
  };
}

function customFieldsOf(request: WritebackRequest, options: CoupaTargetOptions): Record<string, string> {
  const { erpRef, status } = request.outcome;
  const fields: Record<string, string> = {};
  if (erpRef !== undefined) fields[options.numberField] = erpRef.number ?? erpRef.documentId;
  if (options.statusField !== undefined) fields[options.statusField] = status;
  for (const [field, value] of Object.entries(fields)) {
    if (value.length > COUPA_CUSTOM_VALUE_MAX) {
      throw new FinanceError(
        'SCHEMA_INVALID',
        `"${value.slice(0, 40)}..." is longer than the ${COUPA_CUSTOM_VALUE_MAX} characters the Coupa custom field ${field} holds; write back a shorter reference.`,
      );
    }
  }
  return fields;
}
