import * as model from '../../../lib/model';

describe('lib/model public API', () => {
  test('re-exports money, currencies, states, validation, safe JSON and the schemas', () => {
    for (const name of [
      'APPROVAL_STATES',
      'money',
      'add',
      'sum',
      'allocate',
      'splitByPercent',
      'multiply',
      'toMinorUnits',
      'formatMinorUnits',
      'currencyExponent',
      'isKnownCurrency',
      'KNOWN_CURRENCIES',
      'normaliseApprovalState',
      'normalisePaymentState',
      'isFinalState',
      'canTransition',
      'APPROVAL_STATE_TABLES',
      'validateDocument',
      'assertValid',
      'isDocType',
      'DOC_TYPES',
      'parseJsonSafely',
      'SCHEMA_BY_DOC_TYPE',
      'expenseReportSchema',
      'moneySchema',
      'AMOUNT_PATTERN',
    ]) {
      expect({ name, exported: name in model }).toEqual({ name, exported: true });
    }
  });

  test('the pieces work together: parse a body, validate it, normalise its state', () => {
    const body = Buffer.from(JSON.stringify({ ...model.expenseReportSchema.examples[0], state: 'draft' }));
    const doc = model.parseJsonSafely(body);
    expect(model.validateDocument('ExpenseReport', doc)).toEqual({ valid: true });
    expect(model.normaliseApprovalState('concur', 'A_PEND')).toBe('pending_approval');
  });
});
