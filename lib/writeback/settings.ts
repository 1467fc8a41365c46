/**
 * The finance-writeback dialog, read once at deploy. The dialog decides where write-backs go; a message never
 * redirects them.
 */
import { FinanceError } from '../errors';
import { CONCUR_CUSTOM_FIELD_ID } from './concur-target';
import { COUPA_CUSTOM_FIELD_NAME } from './coupa-target';
import { checkBrokerUrl, compileTopicTemplate } from './mqtt-target';
import { WRITEBACK_TARGETS } from './target';
import { DEFAULT_WEBHOOK_PATH } from './webhook-target';

export interface WritebackDialogSettings {
  target?: unknown;
  path?: unknown;
  userIdProperty?: unknown;
  numberField?: unknown;
  statusField?: unknown;
  brokerUrl?: unknown;
  topic?: unknown;
}

export type WritebackSettings =
  | { target: 'webhook'; path: string }
  | { target: 'concur'; numberField: string; statusField?: string; userIdProperty: string }
  | { target: 'mqtt'; brokerUrl: string; topicTemplate: string }
  | { target: 'coupa'; numberField: string; statusField?: string };

/** The Coupa custom fields the pack writes to unless the dialog names others. */
export const DEFAULT_COUPA_NUMBER_FIELD = 'erp-po-number';

export const DEFAULT_USER_ID_PROPERTY = 'payload.employeeId';
export const DEFAULT_TOPIC = 'finance/writeback/{system}/{documentId}';

export function writebackSettings(dialog: WritebackDialogSettings): WritebackSettings {
  const target = dialog.target ?? 'webhook';
  switch (target) {
    case 'webhook':
      return { target: 'webhook', path: webhookPath(text(dialog.path) ?? DEFAULT_WEBHOOK_PATH) };
    case 'concur': {
      const statusField = text(dialog.statusField);
      const numberField = customField(text(dialog.numberField), 'ERP number field');
      if (statusField !== undefined) notTheNumberField(customField(statusField, 'Status field'), numberField);
      return {
        target: 'concur',
        numberField,
        ...(statusField === undefined ? {} : { statusField }),
        // The dialog shows "msg." in front of the field; someone typing it again means the same property.
        userIdProperty: text(dialog.userIdProperty)?.replace(/^msg\./, '') ?? DEFAULT_USER_ID_PROPERTY,
      };
    }
    case 'mqtt': {
      const topicTemplate = text(dialog.topic) ?? DEFAULT_TOPIC;
      compileTopicTemplate(topicTemplate);
      const brokerUrl = text(dialog.brokerUrl);
      if (brokerUrl === undefined) throw invalid('Broker', 'is empty: enter e.g. mqtt://127.0.0.1:1883');
      return { target: 'mqtt', brokerUrl: checkBrokerUrl(brokerUrl), topicTemplate };
    }
    case 'coupa': {
      const statusField = text(dialog.statusField);
      const numberField = coupaField(text(dialog.numberField) ?? DEFAULT_COUPA_NUMBER_FIELD, 'ERP number field');
      if (statusField !== undefined) notTheNumberField(coupaField(statusField, 'Status field'), numberField);
      return {
        target: 'coupa',
        numberField,
        ...(statusField === undefined ? {} : { statusField }),
      };
    }
    default:
      throw invalid('Target', `"${String(target)}" is not one of ${WRITEBACK_TARGETS.join(', ')}`);
  }
}

/**
 * Where a node's write-backs go, as the ledger and the version guard key them (writeback.ts): the
 * finance-source (its config node id) and what is written there (path, custom fields) for the HTTP targets, the
 * broker and topic template for MQTT. The source's id rather than its API base URL, which its node does not
 * disclose: it stays the same across redeploys, edits of the write-back node and copies of the flow in the
 * editor (they use the same finance-source), and every write-back node telling that source shares it, so their
 * write-backs of one document are kept in order together. A new finance-source (deleted and created again)
 * is a new destination: write-backs replayed after that are sent again (never lost).
 */
export function writebackDestination(settings: WritebackSettings, sourceId: string | undefined): string {
  const source = `source=${sourceId ?? ''}`;
  switch (settings.target) {
    case 'webhook':
      return ['webhook', source, `path=${settings.path}`].join('|');
    case 'concur':
    case 'coupa':
      return [settings.target, source, `number=${settings.numberField}`, `status=${settings.statusField ?? ''}`].join(
        '|',
      );
    case 'mqtt':
      return ['mqtt', `broker=${settings.brokerUrl}`, `topic=${settings.topicTemplate}`].join('|');
  }
}

/** The status in the ERP number's field would overwrite the number (Concur and Coupa keep one value per field). */
function notTheNumberField(statusField: string, numberField: string): void {
  if (statusField.toLowerCase() !== numberField.toLowerCase()) return;
  throw new FinanceError(
    'CONFIG_INVALID',
    `Status field "${statusField}" is the ERP number field too, so the status would overwrite the ERP document number there; choose another custom field for the status, or leave Status field empty; fix it in the node's dialog.`,
    { details: { field: 'statusField' } },
  );
}

/** A path below the source's API base URL: relative, so the write-back cannot be sent to another host. */
function webhookPath(path: string): string {
  const relative = path.replace(/^\/+/, '');
  if (relative === '' || /^[a-z][a-z0-9+.-]*:/i.test(relative) || relative.split(/[/?#]/).includes('..')) {
    throw invalid('Path', `"${path}" must be a path below the source's API base URL, such as api/v1/writebacks`);
  }
  return relative;
}

function customField(value: string | undefined, field: string): string {
  if (value === undefined || !CONCUR_CUSTOM_FIELD_ID.test(value)) {
    throw invalid(field, `"${value ?? ''}" is not a Concur report custom field id such as custom15 or orgUnit1`);
  }
  return value;
}

function coupaField(value: string, field: string): string {
  if (!COUPA_CUSTOM_FIELD_NAME.test(value)) {
    throw invalid(
      field,
      `"${value}" is not a Coupa custom field name such as erp-po-number (letters, digits, - and _)`,
    );
  }
  return value;
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

function invalid(field: string, problem: string): FinanceError {
  return new FinanceError('CONFIG_INVALID', `${field} ${problem}; fix it in the node's dialog.`, {
    details: { field },
  });
}
