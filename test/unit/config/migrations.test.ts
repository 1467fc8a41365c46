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
function dialogDefaults(type: string): Record<string, { value?: unknown }> {
  const html = fs.readFileSync(path.join(root, 'nodes', type, `${type}.html`), 'utf8');
  const script = /<script type="text\/javascript">([\s\S]*?)<\/script>/.exec(html)?.[1];
  if (!script) throw new Error(`${type}.html has no editor script`);
  let defaults: Record<string, { value?: unknown }> | undefined;
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
    '%s: an empty old config gets the dialog defaults of the added fields',
    (type) => {
      const defaults = dialogDefaults(type);
      const config: Record<string, unknown> = { type };
      const applied = upgradeConfigWithReport(config);
      expect(applied.length).toBe(CONFIG_MIGRATIONS[type].length);
      for (const [field, value] of Object.entries(config)) {
        if (field === 'type') continue;
        expect({ field, inDialog: field in defaults }).toEqual({ field, inDialog: true });
        expect({ field, value: String(value) }).toEqual({ field, value: String(defaults[field].value ?? '') });
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
    expect(upgraded).toEqual({ type: 'finance-budget-check', erp: 'e1', store: '', netOwnCommitment: true });
  });

  it("turns a budget check's own-commitment netting on for an old node, whatever its old default saved", () => {
    // netOfCommitment was off by default: a saved false is no choice anyone can be held to.
    for (const saved of [false, true, undefined]) {
      const old = { type: 'finance-budget-check', erp: 'e1', store: '', netOfCommitment: saved };
      expect(upgradeConfigWithReport(old)).toEqual([expect.stringContaining('netOwnCommitment')]);
      expect(old).toEqual({ type: 'finance-budget-check', erp: 'e1', store: '', netOwnCommitment: true });
    }
    // A current node switched off stays off.
    const current = { type: 'finance-budget-check', erp: 'e1', store: '', netOwnCommitment: false };
    expect(upgradeConfigWithReport(current)).toEqual([]);
    expect(current.netOwnCommitment).toBe(false);
  });

  it('leaves types without migrations alone', () => {
    const config = { type: 'finance-post', kind: 'journal' };
    expect(upgradeConfigWithReport(config)).toEqual([]);
    expect(config).toEqual({ type: 'finance-post', kind: 'journal' });
  });
});
