/**
 * lib/config/migrations.ts: old node configs get the fields added since, with the values the node's dialog
 * gives a new node (read from its .html, so the two cannot drift apart), without touching what was saved.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vm from 'node:vm';
import { CONFIG_MIGRATIONS, upgradeConfig, upgradeConfigWithReport } from '../../../lib/config/migrations';

const root = path.resolve(__dirname, '..', '..', '..');

/** The `defaults` a node's editor file registers, evaluated with a stand-in for the editor's RED. */
function dialogDefaults(type: string): Record<string, { value?: unknown; upgradeValue?: unknown }> {
  const html = fs.readFileSync(path.join(root, 'nodes', type, `${type}.html`), 'utf8');
  const script = /<script type="text\/javascript">([\s\S]*?)<\/script>/.exec(html)?.[1];
  if (!script) throw new Error(`${type}.html has no editor script`);
  let defaults: Record<string, { value?: unknown; upgradeValue?: unknown }> | undefined;
  const anyValidator = () => () => true;
  const RED = {
    nodes: {
      registerType: (_type: string, definition: { defaults: typeof defaults }) => (defaults = definition.defaults),
    },
    validators: { number: anyValidator, regex: anyValidator, typedInput: anyValidator },
    _: (key: string) => key,
  };
  vm.runInNewContext(script, { RED, $: () => ({}) });
  if (!defaults) throw new Error(`${type}.html registers no defaults`);
  return defaults;
}

describe('config migrations', () => {
  it.each(Object.keys(CONFIG_MIGRATIONS))(
    // A field whose new-node default would change what an old flow does names the old behaviour as its
    // upgradeValue, which the editor gives an old node (finance-sync-editor's fillMissingDefaults).
    '%s: an empty old config gets the dialog defaults (or upgrade values) of the added fields',
    (type) => {
      const defaults = dialogDefaults(type);
      const config: Record<string, unknown> = { type };
      const applied = upgradeConfigWithReport(config);
      expect(applied.length).toBe(CONFIG_MIGRATIONS[type].length);
      for (const [field, value] of Object.entries(config)) {
        if (field === 'type') continue;
        expect({ field, inDialog: field in defaults }).toEqual({ field, inDialog: true });
        const dialogValue = defaults[field].upgradeValue ?? defaults[field].value ?? '';
        expect({ field, value: String(value) }).toEqual({ field, value: String(dialogValue) });
      }
    },
  );

  it('keeps what an old config saved and changes nothing in a current one', () => {
    const old = { type: 'finance-event-in', leaseSeconds: '120', recoverySeconds: '30' };
    expect(upgradeConfigWithReport(old)).toEqual([]);
    expect(old).toEqual({ type: 'finance-event-in', leaseSeconds: '120', recoverySeconds: '30' });
    const erp = { type: 'finance-erp', retryMaximumAttempts: '3' };
    upgradeConfig(erp);
    expect(erp).toMatchObject({ retryMaximumAttempts: '3', retryInitialSeconds: 1, circuitBreaker: true });
  });

  it('upgrades in place, so the hidden properties Node-RED puts on a node config survive', () => {
    const config = { type: 'finance-budget-check', erp: 'e1' };
    Object.defineProperty(config, '_flow', { value: 'the flow', enumerable: false });
    const upgraded = upgradeConfig(config);
    expect(upgraded).toBe(config);
    expect((upgraded as unknown as { _flow: string })._flow).toBe('the flow');
    expect(upgraded).toEqual({
      type: 'finance-budget-check',
      erp: 'e1',
      store: '',
      netOwnCommitment: true,
      reserveFunds: false,
      reserveHoldHours: 72,
    });
  });

  it("turns a budget check's own-commitment netting on for an old node, whatever its old default saved", () => {
    // netOfCommitment was off by default: a saved false is no choice anyone can be held to.
    for (const saved of [false, true, undefined]) {
      const old = {
        type: 'finance-budget-check',
        erp: 'e1',
        store: '',
        netOfCommitment: saved,
        reserveFunds: false,
        reserveHoldHours: 72,
      };
      expect(upgradeConfigWithReport(old)).toEqual([expect.stringContaining('netOwnCommitment')]);
      expect(old).toMatchObject({ netOwnCommitment: true });
      expect(old).not.toHaveProperty('netOfCommitment');
    }
    // A current node switched off stays off.
    const current = {
      type: 'finance-budget-check',
      erp: 'e1',
      store: '',
      netOwnCommitment: false,
      reserveFunds: true,
      reserveHoldHours: 24,
    };
    expect(upgradeConfigWithReport(current)).toEqual([]);
    expect(current.netOwnCommitment).toBe(false);
  });

  it('keeps a budget check saved before reserving existed from reserving, and a current choice as it is', () => {
    // Reserving is on for new nodes (the dialog) but changes what a running flow decides, so old nodes stay off.
    const old = { type: 'finance-budget-check', erp: 'e1', store: 's1', netOwnCommitment: true };
    expect(upgradeConfigWithReport(old)).toEqual([expect.stringContaining('reserving')]);
    expect(old).toMatchObject({ reserveFunds: false, reserveHoldHours: 72 });
    const current = {
      type: 'finance-budget-check',
      erp: 'e1',
      store: 's1',
      netOwnCommitment: true,
      reserveFunds: true,
    };
    upgradeConfig(current);
    expect(current.reserveFunds).toBe(true);
  });

  it('leaves types without migrations alone', () => {
    const config = { type: 'finance-post', kind: 'journal' };
    expect(upgradeConfigWithReport(config)).toEqual([]);
    expect(config).toEqual({ type: 'finance-post', kind: 'journal' });
  });
});
