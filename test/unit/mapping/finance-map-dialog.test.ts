/**
 * finance-map's *Profile options* field: the dialog accepts what deploy accepts (a JSON object, or nothing), and
 * deploy ignores the field for mappings that read no options, as the dialog hides it for them. The dialog's
 * validator runs as Node-RED 4.1 runs it (test/unit/editor/editor-harness.ts).
 */
import { mapSettings } from '../../../lib/mapping';
import type { MapDialogSettings } from '../../../lib/mapping/settings';
import { dialogAccepts, editorOf, newNode } from '../editor/editor-harness';

function verdicts(mapping: string, profileOptions: string) {
  const { definition } = editorOf('finance-map');
  const node = {
    ...newNode(definition, 'finance-map'),
    mapping,
    profileOptions,
    expression: 'payload',
    _: (key: string) => key,
  };
  let runtime = true;
  try {
    mapSettings(node as unknown as MapDialogSettings);
  } catch (error) {
    if ((error as { code?: string }).code !== 'CONFIG_INVALID') throw error;
    runtime = false;
  }
  return { mapping, profileOptions, dialog: dialogAccepts(definition, 'profileOptions', node), runtime };
}

describe('finance-map Profile options, dialog and deploy', () => {
  it.each(['concur', 'ramp', 'coupa'])(
    '%s: refuses JSON that is not an object in the dialog, as deploy does',
    (mapping) => {
      for (const value of ['[]', '1', 'null', '"x"', '[{"costCenterField": "custom1"}]', 'true']) {
        expect(verdicts(mapping, value)).toEqual({ mapping, profileOptions: value, dialog: false, runtime: false });
      }
      for (const value of ['', '  ', '{}', '{"company": "FS-DEMO"}']) {
        expect(verdicts(mapping, value)).toEqual({ mapping, profileOptions: value, dialog: true, runtime: true });
      }
    },
  );

  it.each(['cloudevents', 'jsonata'])('%s: the hidden field is ignored by the dialog and by deploy', (mapping) => {
    for (const value of ['[]', '1', 'null', '"x"', '{"costCenterField": 7}', '{oops']) {
      expect(verdicts(mapping, value)).toEqual({ mapping, profileOptions: value, dialog: true, runtime: true });
    }
  });

  it('answers with the message of its catalogue when asked for one', () => {
    const { definition } = editorOf('finance-map');
    const node = { ...newNode(definition, 'finance-map'), mapping: 'concur', _: (key: string) => key };
    expect(definition.defaults.profileOptions.validate!.call(node, '[]', {})).toBe(
      'finance-map.errors.profileOptionsObject',
    );
  });
});
