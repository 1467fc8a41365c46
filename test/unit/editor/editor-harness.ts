/**
 * Runs a node's editor script (nodes/<type>/<type>.html) outside the browser, so its dialog validators and
 * oneditprepare/oneditsave can be compared with the runtime's settings parsers.
 *
 * - `RED.validators.number` / `regex` and `dialogAccepts` (Node-RED's validateNodeProperty) are copies of
 *   @node-red/editor-client 4.1.15 (public/red/red.js, RED.validators and RED.editor), so a field is judged
 *   as the browser judges it.
 * - `$` is a small stand-in for jQuery: enough of it (ids from the dialog template, editableList, val, prop,
 *   data, find by class, on/trigger) for the dialog code these tests run. With no dialog open, `$('#id')` is
 *   empty, as it is in the browser when the editor validates a node outside its dialog.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vm from 'node:vm';

export const root = path.resolve(__dirname, '..', '..', '..');

type Validator = (this: Record<string, unknown>, value: unknown, opt?: { label?: string }) => unknown;
export interface FieldDefinition {
  value?: unknown;
  required?: boolean;
  validate?: Validator;
  label?: string;
  type?: string;
}
export interface NodeDefinition {
  defaults: Record<string, FieldDefinition>;
  oneditprepare?: (this: Record<string, unknown>) => void;
  oneditsave?: (this: Record<string, unknown>) => void;
  [key: string]: unknown;
}

/** Copied from @node-red/editor-client 4.1.15 red.js (RED.validators), messages left out. */
const validators = {
  number(blankAllowed?: boolean) {
    return function (v: any, opt?: object): boolean | string {
      if (blankAllowed && (v === '' || v === undefined)) {
        return true;
      }
      if (v !== '') {
        if (
          /^NaN$|^[+-]?[0-9]*\.?[0-9]*([eE][-+]?[0-9]+)?$|^[+-]?(0b|0B)[01]+$|^[+-]?(0o|0O)[0-7]+$|^[+-]?(0x|0X)[0-9a-fA-F]+$/.test(
            v,
          )
        ) {
          return true;
        }
        if (/^\${[^}]+}$/.test(v)) {
          return true;
        }
      }
      if (!isNaN(v)) {
        return true;
      }
      return opt ? 'validator.errors.invalid-num' : false;
    };
  },
  regex(re: RegExp) {
    return function (v: any, opt?: object): boolean | string {
      if (re.test(v)) {
        return true;
      }
      return opt ? 'validator.errors.invalid-regexp' : false;
    };
  },
  typedInput() {
    return () => true;
  },
};

/**
 * Node-RED 4.1.15's validateNodeProperty (red.js, RED.editor): true when the editor shows the field as valid.
 * A validator of two arguments may answer with a message, which means invalid. `value`: what the field's input
 * holds in an open dialog, where `this` is the node as saved before the edit; the node's own value otherwise.
 */
export function dialogAccepts(
  definition: NodeDefinition,
  field: string,
  node: Record<string, unknown>,
  value: unknown = node[field],
): boolean {
  const property = definition.defaults[field];
  if (
    typeof value === 'string' &&
    (/^\$\([a-zA-Z_][a-zA-Z0-9_]*\)$/.test(value) || /^\$\{[a-zA-Z_][a-zA-Z0-9_]*\}$/.test(value))
  ) {
    return true;
  }
  let valid: unknown = true;
  if (property.required) valid = value !== '';
  if (valid && property.validate) {
    if (property.required === false && value === '') return true;
    const opt = property.label ? { label: property.label } : {};
    valid = property.validate.call(node, value, opt);
    if ((property.validate.length === 2 && typeof valid === 'string') || Array.isArray(valid)) return false;
    valid = !!valid;
  }
  return valid === true;
}

// ---- a stand-in for jQuery -----------------------------------------------------------------------------

class FakeElement {
  children: FakeElement[] = [];
  value = '';
  checked = false;
  data: Record<string, unknown> = {};
  attrs: Record<string, string> = {};
  handlers: Record<string, Array<(this: FakeElement, ...args: unknown[]) => void>> = {};
  list?: { addItem: (row: FakeQuery, index: number, data: unknown) => void; items: FakeElement[] };
  constructor(
    readonly tag: string,
    readonly classes: string[] = [],
  ) {}
  descendants(): FakeElement[] {
    return this.children.flatMap((child) => [child, ...child.descendants()]);
  }
}

class FakeQuery {
  constructor(readonly elements: FakeElement[]) {}
  get length(): number {
    return this.elements.length;
  }
  private first(): FakeElement | undefined {
    return this.elements[0];
  }
  val(value?: unknown): any {
    if (arguments.length === 0) return this.first()?.value;
    for (const element of this.elements) element.value = value === undefined || value === null ? '' : String(value);
    return this;
  }
  prop(name: string, value?: unknown): any {
    if (name !== 'checked') return this;
    if (arguments.length === 1) return this.first()?.checked;
    for (const element of this.elements) element.checked = value === true;
    return this;
  }
  is(selector: string): boolean {
    return selector === ':checked' ? this.first()?.checked === true : false;
  }
  attr(name: string, value?: string): any {
    if (arguments.length === 1) return this.first()?.attrs[name];
    for (const element of this.elements) element.attrs[name] = String(value);
    return this;
  }
  data(key: string, value?: unknown): any {
    if (arguments.length === 1) return this.first()?.data[key];
    for (const element of this.elements) element.data[key] = value;
    return this;
  }
  find(selector: string): FakeQuery {
    const name = selector.replace(/^\./, '');
    return new FakeQuery(this.elements.flatMap((e) => e.descendants()).filter((e) => e.classes.includes(name)));
  }
  appendTo(parent: FakeQuery): FakeQuery {
    parent.first()?.children.push(...this.elements);
    return this;
  }
  on(events: string, handler: (this: FakeElement, ...args: unknown[]) => void): FakeQuery {
    for (const element of this.elements) {
      for (const event of events.split(/\s+/)) (element.handlers[event] ??= []).push(handler);
    }
    return this;
  }
  trigger(event: string): FakeQuery {
    for (const element of this.elements) for (const handler of element.handlers[event] ?? []) handler.call(element);
    return this;
  }
  each(callback: (this: FakeElement, index: number, element: FakeElement) => void): FakeQuery {
    this.elements.forEach((element, index) => callback.call(element, index, element));
    return this;
  }
  toArray(): FakeElement[] {
    return this.elements;
  }
  editableList(command: unknown, data?: unknown): any {
    const element = this.first()!;
    if (typeof command === 'object') {
      element.list = {
        addItem: (command as { addItem: NonNullable<FakeElement['list']>['addItem'] }).addItem,
        items: [],
      };
      return this;
    }
    if (command === 'addItem') {
      // As Node-RED's editableList: the row keeps the item's data, {} for a row added with the Add button.
      const row = new FakeElement('div');
      row.data.data = data ?? {};
      element.list!.items.push(row);
      element.list!.addItem(new FakeQuery([row]), element.list!.items.length - 1, row.data.data);
      return this;
    }
    if (command === 'items') return new FakeQuery(element.list!.items);
    return this;
  }
}
// Layout and widgets do nothing here.
for (const name of [
  'css',
  'hide',
  'show',
  'toggle',
  'text',
  'html',
  'spinner',
  'typedInput',
  'addClass',
  'removeClass',
]) {
  (FakeQuery.prototype as any)[name] = function (this: FakeQuery) {
    return this;
  };
}

/** `$` for an open dialog whose template elements are `byId`; without `byId`, no dialog is open. */
function fakeJquery(byId: Map<string, FakeElement> = new Map()) {
  return function $(selector: unknown, attributes?: Record<string, unknown>): FakeQuery {
    if (selector instanceof FakeElement) return new FakeQuery([selector]);
    if (typeof selector !== 'string') return new FakeQuery([]);
    const created = /^<(\w+)\s*\/?>$/.exec(selector);
    if (created) {
      const element = new FakeElement(
        created[1],
        String(attributes?.class ?? '')
          .split(/\s+/)
          .filter(Boolean),
      );
      if (attributes?.type) element.attrs.type = String(attributes.type);
      return new FakeQuery([element]);
    }
    // '#a, .b, #c': the ids present in the template; class selectors find nothing (rows shown or hidden).
    return new FakeQuery(
      selector
        .split(',')
        .map((part) => part.trim())
        .filter((part) => part.startsWith('#') && byId.has(part.slice(1)))
        .map((part) => byId.get(part.slice(1))!),
    );
  };
}

function readHtml(type: string): string {
  return fs.readFileSync(path.join(root, 'nodes', type, `${type}.html`), 'utf8');
}

function scriptsOf(type: string): string[] {
  return [...readHtml(type).matchAll(/<script type="text\/javascript">([\s\S]*?)<\/script>/g)].map((m) => m[1]);
}

/**
 * `editStack`: the nodes whose dialogs are open (RED.editor.getEditStack). The pack's editor plugin
 * (finance-sync-editor.html) runs first, as in the editor, which loads plugins before nodes: its helpers are
 * globals the dialogs use.
 */
function run(
  type: string,
  $: ReturnType<typeof fakeJquery>,
  editStack: object[] = [],
): { definition: NodeDefinition; context: vm.Context } {
  let definition: NodeDefinition | undefined;
  const RED = {
    nodes: { registerType: (_type: string, def: NodeDefinition) => (definition = def) },
    plugins: { registerPlugin() {} },
    editor: { getEditStack: () => [...editStack] },
    validators,
    _: (key: string) => key,
    events: { on() {} },
    settings: {},
  };
  // URL: a browser global the dialogs use to read addresses as the runtime does (new URL).
  const context = vm.createContext({ RED, $, URL });
  for (const script of [...scriptsOf('finance-sync-editor'), ...scriptsOf(type)]) vm.runInContext(script, context);
  if (!definition) throw new Error(`${type}.html registers no node type`);
  return { definition, context };
}

/** The node's editor definition, with no dialog open. */
export function editorOf(type: string): { definition: NodeDefinition; context: vm.Context } {
  return run(type, fakeJquery());
}

/** A new node's config: every default's value. */
export function newNode(definition: NodeDefinition, type: string): Record<string, unknown> {
  const node: Record<string, unknown> = { type, id: 'n1' };
  for (const [field, property] of Object.entries(definition.defaults)) {
    node[field] = property.value === undefined ? undefined : JSON.parse(JSON.stringify(property.value));
  }
  return node;
}

/** The edit dialog of `node`, opened as Node-RED 4.1 opens it (editor.js prepareEditDialog) and closed with Done. */
export function openDialog(type: string, saved: Record<string, unknown>) {
  // The editor's node: the saved config plus the i18n helper every node has in the editor.
  const node: Record<string, unknown> = { ...saved, _: (key: string) => key };
  const editStack: object[] = [node];
  const html = readHtml(type);
  const template = new RegExp(`<script type="text/html" data-template-name="${type}">([\\s\\S]*?)</script>`).exec(
    html,
  )![1];
  const byId = new Map<string, FakeElement>();
  for (const [, tag, attributes] of template.matchAll(/<(input|select|textarea|ol|div|span)\b([^>]*)>/g)) {
    const id = /\bid="([^"]+)"/.exec(attributes)?.[1];
    if (!id) continue;
    const element = new FakeElement(tag);
    if (/type="checkbox"/.test(attributes)) element.attrs.type = 'checkbox';
    byId.set(id, element);
  }
  const $ = fakeJquery(byId);
  const { definition } = run(type, $, editStack);
  node._def = definition;
  const prefix = definition.category === 'config' ? 'node-config-input' : 'node-input';
  const input = (field: string) => byId.get(`${prefix}-${field}`);
  for (const field of Object.keys(definition.defaults)) {
    const element = input(field);
    if (!element) continue;
    if (element.attrs.type === 'checkbox') element.checked = node[field] === true;
    else element.value = node[field] === undefined || node[field] === null ? '' : String(node[field]);
  }
  definition.oneditprepare?.call(node);
  // Node-RED then fires "change" on every field once.
  for (const field of Object.keys(definition.defaults)) if (input(field)) $(`#${prefix}-${field}`).trigger('change');
  return {
    $,
    definition,
    /**
     * Whether the open dialog shows `field` as valid with `value` typed into it (without "change", so the
     * dialog's other rows stay as they are), judged as Node-RED judges an open dialog: the input's value, with
     * `this` the node as saved. The field is given back its value afterwards.
     */
    accepts(field: string, value: unknown): boolean {
      const element = input(field);
      const before = { input: element?.value, saved: node[field] };
      if (element) element.value = value === undefined || value === null ? '' : String(value);
      node[field] = value;
      try {
        return dialogAccepts(definition, field, node, element ? element.value : value);
      } finally {
        if (element) element.value = before.input as string;
        node[field] = before.saved;
      }
    },
    /** Sets a field as the analyst does: a new value, then "change". */
    set(field: string, value: string) {
      $(`#${prefix}-${field}`).val(value).trigger('change');
    },
    value(field: string): unknown {
      return input(field)?.value;
    },
    /** Done: oneditsave, then every field with an input takes that input's value. */
    done(): Record<string, unknown> {
      const edited = { ...node };
      definition.oneditsave?.call(edited);
      for (const field of Object.keys(definition.defaults)) {
        const element = input(field);
        if (element) edited[field] = element.attrs.type === 'checkbox' ? element.checked : element.value;
      }
      delete edited._;
      delete edited._def;
      return edited;
    },
  };
}
