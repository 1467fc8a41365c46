import { mapSettings } from '../../../lib/mapping';
import type { FinanceError } from '../../../lib/errors';

function configError(fn: () => unknown): FinanceError {
  try {
    fn();
  } catch (error) {
    return error as FinanceError;
  }
  throw new Error('expected a configuration error');
}

describe('finance-map settings', () => {
  it('defaults to the CloudEvents profile producing expense reports', () => {
    const settings = mapSettings({});
    expect(settings).toMatchObject({ mapping: 'cloudevents', target: { docType: 'ExpenseReport' } });
    if (settings.mapping === 'jsonata') throw new Error('expected a profile');
    expect(settings.profile.name).toBe('cloudevents');
  });

  it('builds the Concur profile with its options and the expenses property', () => {
    const settings = mapSettings({
      mapping: 'concur',
      profileOptions: '{"costCenterField": "custom1", "company": "FS-DEMO"}',
      linesProperty: 'msg.concurExpenses',
      docType: 'auto',
      stateSystem: '',
    });
    expect(settings).toMatchObject({ mapping: 'concur', linesProperty: 'concurExpenses', target: { docType: 'auto' } });
    expect(settings).not.toHaveProperty('target.stateSystem');
  });

  it('reads Concur itemizations and allocations from payload.itemizations and payload.allocations by default', () => {
    // A node deployed before these settings existed has neither: it reads the defaults, no migration needed.
    expect(mapSettings({ mapping: 'concur' })).toMatchObject({
      linesProperty: 'payload.expenses',
      itemizationsProperty: 'payload.itemizations',
      allocationsProperty: 'payload.allocations',
    });
    const set = mapSettings({
      mapping: 'concur',
      itemizationsProperty: ' msg.concur.items ',
      allocationsProperty: 'concur.splits',
    });
    expect(set).toMatchObject({ itemizationsProperty: 'concur.items', allocationsProperty: 'concur.splits' });
    // An empty field means the flow passes none.
    const empty = mapSettings({ mapping: 'concur', itemizationsProperty: '', allocationsProperty: ' ' });
    expect(empty).toMatchObject({ itemizationsProperty: undefined, allocationsProperty: undefined });
  });

  it('keeps a JSONata expression and the status codes to translate', () => {
    expect(mapSettings({ mapping: 'jsonata', expression: ' payload ', stateSystem: 'coupa' })).toEqual({
      mapping: 'jsonata',
      expression: 'payload',
      target: { docType: 'ExpenseReport', stateSystem: 'coupa' },
    });
  });

  it.each([
    [{ mapping: 'sap-ariba' }, 'Mapping is "sap-ariba"'],
    [{ mapping: 'jsonata', expression: '  ' }, 'Expression is empty'],
    [{ mapping: 'concur', profileOptions: '{costCenterField: custom1}' }, 'Profile options are not valid JSON'],
    [{ mapping: 'concur', profileOptions: '["custom1"]' }, 'Profile options must be a JSON object'],
    [{ mapping: 'concur', profileOptions: '{"costCenterField": 1}' }, 'option "costCenterField" must be'],
    [{ docType: 'Invoice' }, 'Document type is "Invoice"'],
    [{ stateSystem: 'sap' }, 'Source status codes is "sap"'],
  ])('refuses %p at deploy', (settings, message) => {
    const error = configError(() => mapSettings(settings));
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toContain(message);
  });

  it.each(['[]', '1', 'null', '"x"', '{"costCenterField": 7}', '{oops'])(
    'ignores profile options %s for the CloudEvents mapping, which has none',
    (profileOptions) => {
      const settings = mapSettings({ mapping: 'cloudevents', profileOptions });
      if (settings.mapping === 'jsonata') throw new Error('expected a profile');
      expect(settings.profile.name).toBe('cloudevents');
      expect(mapSettings({ mapping: 'jsonata', expression: 'payload', profileOptions }).mapping).toBe('jsonata');
    },
  );

  it.each(['[]', '1', 'null', '"x"'])('refuses profile options %s for a profile that reads them', (profileOptions) => {
    for (const mapping of ['concur', 'ramp', 'coupa']) {
      const error = configError(() => mapSettings({ mapping, profileOptions }));
      expect([error.code, error.message]).toEqual([
        'CONFIG_INVALID',
        expect.stringContaining('Profile options must be a JSON object'),
      ]);
    }
  });

  it.each([
    ['concur', '{"companyPaidExpenses": "drop"}', '"companyPaidExpenses" must be one of refuse, exclude, got "drop"'],
    ['concur', '{"vatExpenses": "net"}', '"vatExpenses" must be one of refuse, gross, got "net"'],
    ['ramp', '{"company": 3}', '"company" must be a non-empty string'],
    ['coupa', '{"costCenterSegment": "segment-99"}', '"costCenterSegment" must be "code" or "segment-1"'],
  ])(
    'names the Profile options of finance-map for a wrong %s option, not the source configuration',
    (mapping, profileOptions, problem) => {
      const error = configError(() => mapSettings({ mapping, profileOptions }));
      expect(error.code).toBe('CONFIG_INVALID');
      expect(error.message).toContain(`Profile options: the ${mapping} profile option ${problem}`);
      expect(error.message).toMatch(/Fix it in the Profile options of this finance-map node's dialog\.$/);
      expect(error.message).not.toContain('source configuration');
      expect(error.details).toMatchObject({ field: 'Profile options', profile: mapping });
    },
  );

  it('names a __proto__ key in valid profile options as the problem, not the JSON', () => {
    const profileOptions = '{"glAccountByExpenseType": {"__proto__": {"MEALS": "6010"}}}';
    const error = configError(() => mapSettings({ mapping: 'concur', profileOptions }));
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toBe(
      'Profile options have a key "__proto__" at /glAccountByExpenseType/__proto__; rename or remove it. ' +
        "Fix it in the node's dialog.",
    );
  });
});
