/**
 * finance-approval's dialog: its matrix check (financeApprovalEditor.validMatrix) refuses what deploy refuses
 * (lib/approval/matrix.ts), its currency table is the runtime's, and Done keeps what the rows do not edit.
 */
import { approvalSettings } from '../../../lib/approval/settings';
import { currencyExponent, KNOWN_CURRENCIES } from '../../../lib/model/currencies';
import { dialogAccepts, editorOf, newNode, openDialog } from './editor-harness';

const { definition, context } = editorOf('finance-approval');
const editor = context.financeApprovalEditor as {
  validMatrix(matrix: unknown): boolean;
  currencyDecimals: Record<string, number>;
};

function runtimeAccepts(matrix: unknown): boolean {
  try {
    approvalSettings({ matrix });
    return true;
  } catch (error) {
    if ((error as { code?: string }).code !== 'CONFIG_INVALID') throw error;
    return false;
  }
}

const base = { financeController: 'E1003', roles: { cfo: 'E1002' }, slaHours: 48 };
const manager = [{ type: 'manager' }];

const refused: Record<string, object> = {
  'overlapping bands in one currency and scope': {
    ...base,
    rules: [
      { currency: 'EUR', minAmount: '0.00', approvers: manager },
      { currency: 'EUR', minAmount: '1000.00', approvers: [{ type: 'managerChain' }] },
    ],
  },
  'more decimals than EUR has': { ...base, rules: [{ currency: 'EUR', maxAmount: '1000.005', approvers: manager }] },
  'decimals in JPY': { ...base, rules: [{ currency: 'JPY', maxAmount: '1000.5', approvers: manager }] },
  'a currency that is not ISO 4217': { ...base, rules: [{ currency: 'XYZ', approvers: manager }] },
  'a role that is not listed': { ...base, rules: [{ currency: 'EUR', approvers: [{ type: 'role', value: 'cto' }] }] },
  'the same rule id twice': {
    ...base,
    rules: [
      { id: 'a', currency: 'EUR', maxAmount: '10.00', approvers: manager },
      { id: 'a', currency: 'EUR', minAmount: '10.00', approvers: manager },
    ],
  },
  'a negative amount': { ...base, rules: [{ currency: 'EUR', minAmount: '-5.00', approvers: manager }] },
  'an auto-approval threshold with too many decimals': {
    ...base,
    autoApproveBelow: { JPY: '50.5' },
    rules: [{ currency: 'EUR', approvers: manager }],
  },
  'a role without its person': { ...base, roles: { cfo: '' }, rules: [{ currency: 'EUR', approvers: manager }] },
  'levels on an approver other than managerChain': {
    ...base,
    rules: [{ currency: 'EUR', approvers: [{ type: 'manager', levels: 2 }] }],
  },
};

const accepted: Record<string, object> = {
  'the dialog default': definition.defaults.matrix.value as object,
  'bands that touch, scopes that overlap, JPY, KWD and a listed role': {
    ...base,
    autoApproveBelow: { EUR: '50.00', JPY: '5000' },
    rules: [
      { id: 'small', currency: 'EUR', maxAmount: '1000.00', approvers: manager },
      { id: 'large', currency: 'EUR', minAmount: '1000.00', approvers: [{ type: 'role', value: 'cfo' }] },
      { currency: 'EUR', company: 'FS-DEMO', minAmount: '0', approvers: manager },
      { currency: 'JPY', maxAmount: '100000', approvers: manager },
      { currency: 'JPY', minAmount: '100000', approvers: [{ type: 'managerChain', levels: 2 }] },
      { currency: 'KWD', minAmount: '0.125', maxAmount: '100000000000000000', approvers: manager },
      { currency: 'USD', autoApprove: true, approvers: [] },
    ],
  },
};

describe('finance-approval matrix check', () => {
  it.each(Object.keys(refused))('refuses %s, as deploy does', (name) => {
    expect(runtimeAccepts(refused[name])).toBe(false);
    expect(editor.validMatrix(refused[name])).toBe(false);
  });

  it.each(Object.keys(accepted))('accepts %s, as deploy does', (name) => {
    expect(runtimeAccepts(accepted[name])).toBe(true);
    expect(editor.validMatrix(accepted[name])).toBe(true);
    expect(dialogAccepts(definition, 'matrix', { matrix: accepted[name] })).toBe(true);
  });

  it("knows the runtime's currencies with their decimals", () => {
    const table = { ...editor.currencyDecimals };
    expect(Object.keys(table).sort()).toEqual([...KNOWN_CURRENCIES]);
    for (const code of KNOWN_CURRENCIES)
      expect({ code, decimals: table[code] }).toEqual({ code, decimals: currencyExponent(code) });
  });
});

describe('finance-approval dialog: Done keeps what the rows do not edit', () => {
  const matrix = {
    ...base,
    autoApproveBelow: { EUR: '50.00' },
    rules: [
      { id: 'small', currency: 'EUR', maxAmount: '1000.00', approvers: manager },
      { id: 'large', currency: 'EUR', minAmount: '1000.00', approvers: [{ type: 'managerChain', levels: 2 }] },
      {
        id: 'plant',
        company: 'FS-DEMO',
        costCenter: 'CC-100',
        currency: 'EUR',
        approvers: [{ type: 'role', value: 'cfo' }],
        autoApprove: true,
      },
    ],
  };

  function openAndDone() {
    const node = { ...newNode(definition, 'finance-approval'), matrix: JSON.parse(JSON.stringify(matrix)) };
    return openDialog('finance-approval', node);
  }

  it('opening and clicking Done changes nothing, rule ids included', () => {
    const saved = openAndDone().done();
    expect(saved.matrix).toEqual(matrix);
    const ids = approvalSettings({ matrix: saved.matrix }).matrix.rules.map((rule) => rule.id);
    expect(ids).toEqual(['small', 'large', 'plant']);
  });

  it('an edited row keeps its id', () => {
    const dialog = openAndDone();
    const firstRow = dialog.$('#finance-approval-rules').editableList('items').toArray()[0];
    dialog.$(firstRow).find('.rule-max').val('2000.00');
    const saved = dialog.done() as { matrix: { rules: Array<Record<string, unknown>> } };
    expect(saved.matrix.rules[0]).toEqual({ ...matrix.rules[0], maxAmount: '2000.00' });
  });
});
