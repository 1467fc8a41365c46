/**
 * The status written into the ERP number's custom field would overwrite the number (Concur and Coupa keep one
 * value per field): deploy refuses the same field for both with CONFIG_INVALID, and so does the dialog.
 */
import { writebackSettings } from '../../../lib/writeback/settings';
import { dialogAccepts, editorOf, newNode, openDialog } from '../editor/editor-harness';

function refusal(dialog: Record<string, unknown>) {
  try {
    writebackSettings(dialog);
  } catch (error) {
    return error as { code: string; message: string; details?: unknown };
  }
  throw new Error('accepted');
}

describe('the status field must not be the ERP number field', () => {
  it('is refused at deploy for Concur and Coupa, naming what to change', () => {
    for (const dialog of [
      { target: 'concur', numberField: 'custom15', statusField: 'custom15' },
      { target: 'concur', numberField: 'custom15', statusField: ' custom15 ' },
      { target: 'coupa', numberField: 'erp-po', statusField: 'erp-po' },
      { target: 'coupa', numberField: 'erp-po', statusField: 'ERP-PO' },
      // Coupa's number field left empty is erp-po-number.
      { target: 'coupa', numberField: '', statusField: 'erp-po-number' },
    ]) {
      const error = refusal(dialog);
      expect(error).toMatchObject({ code: 'CONFIG_INVALID', details: { field: 'statusField' } });
      expect(error.message).toMatch(/Status field ".+" is the ERP number field too.*overwrite the ERP document number/);
    }
  });

  it('accepts two different fields, and no status field', () => {
    expect(writebackSettings({ target: 'concur', numberField: 'custom15', statusField: 'custom16' })).toMatchObject({
      numberField: 'custom15',
      statusField: 'custom16',
    });
    expect(writebackSettings({ target: 'coupa', numberField: '', statusField: 'erp-po-status' })).toMatchObject({
      numberField: 'erp-po-number',
      statusField: 'erp-po-status',
    });
    expect(writebackSettings({ target: 'concur', numberField: 'custom15', statusField: '' })).not.toHaveProperty(
      'statusField',
    );
  });

  it('the dialog refuses the same field as deploy does', () => {
    const { definition } = editorOf('finance-writeback');
    const node = (extra: Record<string, unknown>) => ({ ...newNode(definition, 'finance-writeback'), ...extra });
    const cases: Array<[Record<string, unknown>, boolean]> = [
      [{ target: 'concur', numberField: 'custom15', statusField: 'custom15' }, false],
      [{ target: 'concur', numberField: 'custom15', statusField: 'custom16' }, true],
      [{ target: 'coupa', numberField: 'erp-po', statusField: 'erp-po' }, false],
      [{ target: 'coupa', numberField: '', statusField: 'erp-po-number' }, false],
      [{ target: 'coupa', numberField: '', statusField: 'erp-po-status' }, true],
      [{ target: 'webhook', numberField: 'custom15', statusField: 'custom15' }, true],
    ];
    for (const [config, accepted] of cases) {
      const verdict = { config, dialog: dialogAccepts(definition, 'statusField', node(config)) };
      let runtime: boolean;
      try {
        writebackSettings(node(config));
        runtime = true;
      } catch {
        runtime = false;
      }
      expect(verdict).toEqual({ config, dialog: accepted });
      expect({ config, runtime }).toEqual({ config, runtime: accepted });
    }
  });

  it('a node whose number field is changed to its status field in the dialog is marked invalid', () => {
    const { definition } = editorOf('finance-writeback');
    const dialog = openDialog('finance-writeback', { ...newNode(definition, 'finance-writeback'), target: 'concur' });
    dialog.set('statusField', 'custom16');
    dialog.set('numberField', 'custom16');
    const edited = dialog.done();
    expect(edited).toMatchObject({ numberField: 'custom16', statusField: 'custom16' });
    expect(dialogAccepts(definition, 'statusField', edited)).toBe(false);
  });
});
