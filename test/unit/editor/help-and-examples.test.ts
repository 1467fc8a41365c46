/**
 * What the editor shows beside the validators: the rows a profile's settings are on, the help texts and the
 * example flows (Import > Examples).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PROFILE_NAMES } from '../../../lib/sources/profiles';
import { dialogAccepts, editorOf, newNode, root } from './editor-harness';

const nodeTypes = Object.keys(
  (JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { 'node-red': { nodes: object } })[
    'node-red'
  ].nodes,
);
const html = (type: string) => fs.readFileSync(path.join(root, 'nodes', type, `${type}.html`), 'utf8');
const help = (type: string) =>
  new RegExp(`<script type="text/markdown" data-help-name="${type}">([\\s\\S]*?)</script>`).exec(html(type))![1];

const walk = (dir: string): string[] =>
  fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(dir, entry.name);
    return entry.isDirectory() ? walk(file) : file.endsWith('.json') ? [file] : [];
  });
const examples = walk(path.join(root, 'examples'));

/** The classes of the form row holding the dialog input `id`. */
function rowClasses(type: string, id: string): string[] {
  const lines = html(type).split('\n');
  const at = lines.findIndex((line) => line.includes(`id="${id}"`));
  for (let index = at; index >= 0; index -= 1) {
    const row = /<div class="(form-row[^"]*)"/.exec(lines[index]);
    if (row) return row[1].split(/\s+/);
  }
  throw new Error(`no form row holds ${id}`);
}

describe('finance-source dialog and help', () => {
  // lib/intake/source-settings.ts profileOptions: the settings each profile reads.
  it.each(['company', 'approvalStatusMap'])('shows %s for the Coupa profile, which reads it', (field) => {
    expect(rowClasses('finance-source', `node-config-input-${field}`)).toContain('finance-source-profile-coupa');
  });

  it.each([...PROFILE_NAMES])('help describes the profile %s', (profile) => {
    expect(help('finance-source')).toContain(`\`${profile}\``);
  });

  it('help says how Coupa documents arrive: polled, without a secret', () => {
    const text = help('finance-source').replace(/\s+/g, ' ');
    expect(text).toMatch(/`finance-event-in` in mode \*poll\*/);
    expect(text).toMatch(/no webhook secret is needed/);
  });
});

describe('help texts', () => {
  // Backticked names that look like node types but are message properties (finance-event-in's help).
  const notNodes = ['finance-id', 'finance-published-by'];
  it.each(nodeTypes)('%s names only node types that exist', (type) => {
    const named = [...help(type).matchAll(/`(finance-[a-z-]+)`/g)].map((m) => m[1]);
    expect(named.filter((name) => !nodeTypes.includes(name) && !notNodes.includes(name))).toEqual([]);
  });
});

describe('help texts name the dialog fields as the dialog labels them', () => {
  const flatten = (value: unknown): string[] =>
    typeof value === 'string' ? [value] : Object.values(value as object).flatMap(flatten);
  const normal = (text: string) => text.replace(/\s+/g, ' ').trim().toLowerCase();
  // "Tolerance (s)" and "Tolerance" are the same field.
  const bare = (text: string) => text.replace(/\s*\([^)]*\)$/, '');
  // Bold phrases that are topics of the help, not dialog fields. A bold phrase ending in "." heads a paragraph.
  const topics: Record<string, string[]> = {
    'finance-audit': ['no wires', 'verify'],
    'finance-erp': ['answers', 'business central', 'embedded sandbox'],
    'finance-event-in': [
      'backpressure',
      'events in flight',
      'redeploy and stop',
      'input',
      'mode http',
      'mode input',
      'mode mqtt',
      'mode poll',
    ],
    'finance-master-data': ['the cache'],
    'finance-metrics': ['approval cycle time', 'exception rate', 'first-pass posting rate', 'process', 'system'],
    'finance-post': ['errors', 'retries'],
    'finance-purchase-order': ['check ... master data', 'retries', 'when the erp cannot be searched'],
    'finance-source': ['api for polling and write-back', 'profile options'],
    'finance-store': ['server, database, user, password'],
    'finance-writeback': ['errors'],
  };
  const types = nodeTypes.filter(
    (type) => !['finance-map', 'finance-budget-check', 'finance-dead-letter'].includes(type),
  );
  it.each(types)('%s', (type) => {
    const locale = JSON.parse(
      fs.readFileSync(path.join(root, 'nodes', type, 'locales', 'en-US', `${type}.json`), 'utf8'),
    ) as object;
    const labels = flatten(locale).map(normal);
    const named = [...help(type).matchAll(/\*\*([^*]+)\*\*/g)].map((m) => normal(m[1]));
    const unknown = named.filter(
      (name) =>
        !name.endsWith('.') &&
        !(topics[type] ?? []).includes(name) &&
        !labels.some((label) => bare(label) === bare(name) || label.startsWith(name)),
    );
    expect(unknown).toEqual([]);
  });
});

describe('example flows', () => {
  const eventIns = examples.flatMap((file) =>
    (JSON.parse(fs.readFileSync(file, 'utf8')) as Array<Record<string, unknown>>)
      .filter((node) => node.type === 'finance-event-in')
      .map((node) => ({ file: path.relative(root, file), id: node.id, mode: node.mode, inputs: node.inputs })),
  );

  it('have finance-event-in nodes', () => {
    expect(eventIns.map((node) => node.id)).toEqual(expect.arrayContaining(['exp-in', 'req-in']));
  });

  // The node takes messages from a wire only in mode "input" (nodes/finance-event-in/finance-event-in.ts);
  // the editor draws the port from the saved "inputs", which the dialog sets from the mode.
  it.each(eventIns)('$file $id (mode $mode) has an input port only in mode input', (node) => {
    expect(node.inputs).toBe(node.mode === 'input' ? 1 : 0);
  });
});

describe('example flows in their dialogs', () => {
  const nodes = examples.flatMap((file) =>
    (JSON.parse(fs.readFileSync(file, 'utf8')) as Array<Record<string, unknown>>)
      .filter((node) => nodeTypes.includes(String(node.type)))
      .map((node) => ({ file: path.relative(root, file), node })),
  );
  // What the editor shows after an import: no field of a finance node marked invalid.
  it.each(nodes.map(({ file, node }) => [file, node.id, node]))('%s %s', (_file, _id, node) => {
    const { definition } = editorOf(String(node.type));
    const config = { ...newNode(definition, String(node.type)), ...node };
    const invalid = Object.keys(definition.defaults).filter(
      (field) => !definition.defaults[field].type && !dialogAccepts(definition, field, config),
    );
    expect(invalid).toEqual([]);
  });
});

describe('example flows use only what the dialogs know', () => {
  // What every node has beside its dialog's fields (Node-RED's node and config node properties).
  const nodeRedProperties = [
    'id',
    'type',
    'z',
    'g',
    'x',
    'y',
    'wires',
    'name',
    'info',
    'd',
    'l',
    'credentials',
    '_users',
  ];
  const files = examples.map((file) => ({
    file: path.relative(root, file),
    nodes: JSON.parse(fs.readFileSync(file, 'utf8')) as Array<Record<string, unknown>>,
  }));
  const financeNodes = files.flatMap(({ file, nodes }) =>
    nodes.filter((node) => nodeTypes.includes(String(node.type))).map((node) => ({ file, nodes, node })),
  );

  // A property the dialog does not know is a stale or misspelt name: the dialog shows its default instead, and
  // the next deploy from the editor drops what the example meant.
  it.each(financeNodes.map(({ file, node }) => [file, node.id, node]))('%s %s: no unknown property', (_f, _i, node) => {
    const { definition } = editorOf(String(node.type));
    const known = [
      ...nodeRedProperties,
      ...Object.keys(definition.defaults),
      ...Object.keys((definition.credentials as object | undefined) ?? {}),
    ];
    expect(Object.keys(node).filter((property) => !known.includes(property))).toEqual([]);
  });

  it.each(financeNodes.map(({ file, node, nodes }) => [file, node.id, node, nodes]))(
    '%s %s: as many wires as outputs, config nodes of the right type in the same flow',
    (_f, _i, node, nodes) => {
      const { definition } = editorOf(String(node.type));
      if (definition.category !== 'config') {
        expect((node.wires as unknown[]).length).toBe(definition.outputs);
      }
      for (const [field, property] of Object.entries(definition.defaults)) {
        if (!property.type || (!property.required && !node[field])) continue;
        const target = nodes.find((candidate) => candidate.id === node[field]);
        expect({ field, type: target?.type }).toEqual({ field, type: property.type });
      }
    },
  );
});
