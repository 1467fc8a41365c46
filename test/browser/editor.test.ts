/**
 * The pack as an analyst meets it: a real Node-RED process with the pack, the editor in Debian's headless
 * Chromium (playwright-core), and the sandbox ERP as a process. Everything is found from package.json's
 * `node-red.nodes` and from examples/, so a new node or example is covered without changing this file:
 *
 * - every node type of the pack is in the palette category "finance sync" (config nodes in the editor's node
 *   registry), with an icon that loads;
 * - every flow node is dragged onto the canvas, its dialog opened, its config fields filled (adding the config
 *   nodes through their own dialogs the first time), a validated field given a wrong value that the dialog must
 *   mark, and the dialog saved: the node must be valid;
 * - every example (and the pipelines) is listed under Import > Examples; each one is imported from there,
 *   deployed with the Deploy button, its inject buttons pressed top to bottom, and its debug output read in the
 *   debug sidebar;
 * - the expense pipeline is imported, pointed at the sandbox through its config nodes' dialogs, fed signed
 *   events, approved with its inject button, and shows the posted and written-back report in the sidebar;
 * - no error in the browser console or the runtime log.
 *
 * Screenshots of the palette, every dialog and the expense pipeline go to test-artifacts/ (git-ignored).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { sampleEvent } from '../../lib/sources/sampleEvents';
import {
  clearDebug,
  closeConfigDialog,
  closeImportDialog,
  debugMessages,
  deploy,
  dialogFields,
  dragFromPalette,
  editReferencedConfig,
  fillConfigField,
  hasInputError,
  importClipboard,
  importExample,
  nodeState,
  openEditDialog,
  openEditor,
  openExamples,
  paletteCategoryId,
  pressInject,
  saveDialog,
  setTypedInput,
  type DialogField,
  type Editor,
} from '../support/editor-page';
import { NODE_RED_DIR } from '../support/node-red-install';
import { startNodeRed, startSandboxProcess, stopAll, waitFor, type RunningProcess } from '../support/processes';
const { DEMO_WEBHOOK_SECRET } = require('../../flows/deployable-flows');

const ROOT = path.resolve(__dirname, '..', '..');
const ARTIFACTS = path.join(ROOT, 'test-artifacts');
const EXAMPLES_DIR = path.join(ROOT, 'examples');
const PACKAGE = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  name: string;
  'node-red': { nodes: Record<string, string> };
};
const PACK_TYPES = Object.keys(PACKAGE['node-red'].nodes);
const CATEGORY = 'finance sync';
/** Where the examples expect Node-RED (its default port); the test's Node-RED runs elsewhere. */
const EXAMPLE_EDITOR_URL = 'http://127.0.0.1:1880';
/** Where the examples expect the sandbox ERP (`npx finance-sandbox`); the test's sandbox runs elsewhere. */
const EXAMPLE_SANDBOX_URL = 'http://127.0.0.1:8089';
const EXPENSE_PIPELINE = ['pipelines', 'Expense approval sync'];

declare const RED: any;

/** Every example as its menu path below the module: folders, then the file name without `.json`. */
function exampleMenuPaths(dir: string, folders: string[] = []): string[][] {
  return fs
    .readdirSync(path.join(dir, ...folders), { withFileTypes: true })
    .flatMap((entry) => {
      if (entry.isDirectory()) return exampleMenuPaths(dir, [...folders, entry.name]);
      return entry.name.endsWith('.json') ? [[...folders, entry.name.slice(0, -'.json'.length)]] : [];
    })
    .sort();
}

const EXAMPLES = exampleMenuPaths(EXAMPLES_DIR);
const NODE_EXAMPLES = EXAMPLES.filter((menuPath) => menuPath.length === 1);

function screenshot(name: string): string {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  return path.join(ARTIFACTS, name);
}

/** The tab an example's import adds, once it is there. */
function tabOf(page: Page, exampleFile: string): Promise<string> {
  const flows = JSON.parse(fs.readFileSync(path.join(EXAMPLES_DIR, `${exampleFile}.json`), 'utf8')) as Array<{
    id: string;
    type: string;
  }>;
  const tab = flows.find((node) => node.type === 'tab');
  if (!tab) throw new Error(`${exampleFile} has no tab`);
  // The editor fetches the example's file after Import is pressed: wait for its tab.
  return page
    .waitForFunction((id) => RED.nodes.workspace(id) !== undefined && RED.nodes.workspace(id) !== null, tab.id, {
      timeout: 15_000,
    })
    .then(() => tab.id)
    .catch(async () => {
      await page.screenshot({ path: screenshot(`import-failed-${path.basename(exampleFile)}.png`) });
      const tabs = await page.evaluate(() => {
        const found: string[] = [];
        RED.nodes.eachWorkspace((ws: any) => found.push(`${ws.id} (${ws.label})`));
        return found;
      });
      throw new Error(`the import did not add tab ${tab.id}; the tabs are ${tabs.join(', ')}`);
    });
}

/**
 * The examples call this Node-RED on its default port; this test runs it elsewhere, so it points the imported
 * nodes (and the config nodes they use) at it, as an analyst whose Node-RED is on another port would.
 */
function pointAtTestPort(page: Page, editorUrl: string): Promise<number> {
  return page.evaluate(
    ({ from, to }) => {
      let changed = 0;
      const replaceIn = (value: unknown): unknown => {
        if (typeof value === 'string') return value.split(from).join(to);
        if (Array.isArray(value)) return value.map(replaceIn);
        if (value && typeof value === 'object') {
          return Object.fromEntries(Object.entries(value).map(([key, each]) => [key, replaceIn(each)]));
        }
        return value;
      };
      const point = (node: any) => {
        for (const property of Object.keys(node._def?.defaults ?? {})) {
          const before = JSON.stringify(node[property]);
          const after = replaceIn(node[property]);
          if (JSON.stringify(after) !== before) {
            node[property] = after;
            node.changed = true;
            changed += 1;
          }
        }
      };
      RED.nodes.eachNode(point);
      RED.nodes.eachConfig(point);
      if (changed > 0) RED.nodes.dirty(true);
      return changed;
    },
    { from: EXAMPLE_EDITOR_URL, to: editorUrl },
  );
}

/** Removes the nodes of the open tab and the config nodes nothing uses any more. */
function clearWorkspace(page: Page): Promise<number> {
  return page.evaluate(() => {
    const tab = RED.workspaces.active();
    const onTab: any[] = [];
    RED.nodes.eachNode((node: any) => {
      if (node.z === tab) onTab.push(node);
    });
    for (const node of onTab) RED.nodes.remove(node.id);
    const unused: any[] = [];
    RED.nodes.eachConfig((node: any) => {
      if (node.type.startsWith('finance-') && node.users.length === 0) unused.push(node);
    });
    for (const node of unused) RED.nodes.remove(node.id);
    RED.nodes.dirty(true);
    RED.view.redraw(true);
    let left = 0;
    RED.nodes.eachNode((node: any) => {
      if (node.z === tab) left += 1;
    });
    return left;
  });
}

/** The inject nodes of a tab, top to bottom, then left to right: the order an analyst reads them in. */
function injectsOf(page: Page, tab: string): Promise<string[]> {
  return page.evaluate((tabId) => {
    const injects: Array<{ id: string; x: number; y: number }> = [];
    RED.nodes.eachNode((node: any) => {
      if (node.z === tabId && node.type === 'inject') injects.push(node);
    });
    return injects.sort((a, b) => a.y - b.y || a.x - b.x).map((node) => node.id);
  }, tab);
}

function debugNodesOf(page: Page, tab: string): Promise<string[]> {
  return page.evaluate((tabId) => {
    const debugs: string[] = [];
    RED.nodes.eachNode((node: any) => {
      if (node.z === tabId && node.type === 'debug') debugs.push(node.id);
    });
    return debugs;
  }, tab);
}

/** Deletes an example's tab and the config nodes only it used, so the next example deploys alone. */
async function deleteTab(page: Page, tab: string): Promise<void> {
  await page.evaluate((tabId) => RED.workspaces.show(tabId), tab);
  expect(await clearWorkspace(page)).toBe(0);
  await page.evaluate((tabId) => RED.workspaces.delete(RED.nodes.workspace(tabId)), tab);
}

describe('the pack in the Node-RED editor (headless Chromium)', () => {
  let sandbox: RunningProcess;
  let nodeRed: RunningProcess & { userDir: string };
  let editor: Editor;
  let page: Page;

  beforeAll(async () => {
    fs.rmSync(ARTIFACTS, { recursive: true, force: true });
    [sandbox, nodeRed] = await Promise.all([startSandboxProcess(), startNodeRed({})]);
    editor = await openEditor(nodeRed.url);
    page = editor.page;
  }, 120_000);

  afterAll(async () => {
    if (page && editor) await page.screenshot({ path: screenshot('last-state.png') }).catch(() => undefined);
    if (nodeRed) fs.writeFileSync(screenshot('node-red.log'), nodeRed.output());
    await editor?.close();
    await stopAll();
    if (nodeRed) fs.rmSync(nodeRed.userDir, { recursive: true, force: true });
  });

  it('runs the editor of the Node-RED under test', async () => {
    const installed = JSON.parse(fs.readFileSync(path.join(NODE_RED_DIR, 'package.json'), 'utf8')).version;
    expect(await page.evaluate(() => String(RED.settings.version).replace(/-git$/, ''))).toBe(installed);
  });

  it('shows every node of the pack in the palette category "finance sync", config nodes in the registry', async () => {
    const seen = await page.evaluate(
      ({ types, category }) =>
        types.map((type: string) => {
          const definition = RED.nodes.getType(type);
          const item = document.querySelector(`.red-ui-palette-node[data-palette-type="${type}"]`);
          return {
            type,
            registered: !!definition,
            config: definition?.category === 'config',
            category: definition?.category,
            inPalette: !!item?.closest(`[id^="red-ui-palette-container-${category.replace(/[^\w-]/g, '_')}"]`),
            label: item?.querySelector('.red-ui-palette-label')?.textContent?.trim() ?? '',
            icon: item?.querySelector('.red-ui-palette-icon-container')?.getAttribute('data-palette-icon') ?? '',
          };
        }),
      { types: PACK_TYPES, category: CATEGORY },
    );
    for (const node of seen) {
      expect({ type: node.type, registered: node.registered }).toEqual({ type: node.type, registered: true });
      if (node.config) {
        expect({ type: node.type, inPalette: node.inPalette }).toEqual({ type: node.type, inPalette: false });
        continue;
      }
      expect({ type: node.type, category: node.category, inPalette: node.inPalette }).toEqual({
        type: node.type,
        category: CATEGORY,
        inPalette: true,
      });
      expect(node.label).not.toMatch(/^finance-|\./); // a palette label, not the type name or a missing i18n key
      const icon = await fetch(`${nodeRed.url}/${node.icon}`);
      expect({ type: node.type, icon: node.icon, status: icon.status, svg: icon.headers.get('content-type') }).toEqual({
        type: node.type,
        icon: node.icon,
        status: 200,
        svg: expect.stringContaining('svg'),
      });
    }
    expect(seen.filter((node) => !node.config).length).toBeGreaterThan(0);
    const palette = page.locator(`#${paletteCategoryId(CATEGORY)}`);
    await palette.scrollIntoViewIfNeeded();
    await palette.screenshot({ path: screenshot('palette.png') });
  });

  it('opens, fills and saves the dialog of every flow node; a wrong value shows as invalid', async () => {
    const flowTypes = await page.evaluate(
      (types) => types.filter((type: string) => RED.nodes.getType(type).category !== 'config'),
      PACK_TYPES,
    );
    const report: Array<{ type: string; invalidShown: string; valid: boolean; errorShown: boolean }> = [];
    try {
      for (const [index, type] of flowTypes.entries()) {
        const at = { x: 480 + (index % 3) * 220, y: 160 + Math.floor(index / 3) * 90 };
        const id = await dragFromPalette(page, type, at);
        await openEditDialog(page, id);
        const fields = await dialogFields(page, type);
        // Fill the config fields that are required or that the dialog marks (required for some choice only).
        for (const field of fields.filter((each) => each.kind === 'config')) {
          if (field.required || (await hasInputError(page, `#node-input-${field.property}`))) {
            await fillConfigField(page, field.property);
          }
        }
        expect({ type, marked: await markedFields(page) }).toEqual({ type, marked: [] });
        const invalidShown = await showsAWrongValue(page, fields);
        await page.locator('#node-input-name').focus(); // back to the top of the dialog for its screenshot
        await page.screenshot({ path: screenshot(`dialog-${type}.png`) });
        await saveDialog(page);
        report.push({ type, invalidShown, ...(await nodeState(page, id)) });
      }
    } finally {
      // The analyst deletes these trial nodes (and the config nodes they added) before importing the examples.
      expect(await clearWorkspace(page)).toBe(0);
    }
    expect(report).toEqual(
      flowTypes.map((type: string) => ({
        type,
        invalidShown: expect.stringMatching(/^node-input-/),
        valid: true,
        errorShown: false,
      })),
    );
  }, 120_000);

  it('lists every example and the pipelines under Import > Examples', async () => {
    const listed = await openExamples(page, PACKAGE.name);
    await closeImportDialog(page);
    for (const menuPath of EXAMPLES) {
      for (const entry of menuPath) expect(listed).toContain(entry);
    }
  });

  it('upgrades a flow saved by an older version of the pack on import: every node is valid', async () => {
    const oldFlows = fs.readFileSync(path.join(ROOT, 'test', 'fixtures', 'flows-before-0.1.0.json'), 'utf8');
    const ids = (JSON.parse(oldFlows) as Array<{ id: string; type: string }>)
      .filter((node) => node.type.startsWith('finance-'))
      .map((node) => node.id);
    await importClipboard(page, oldFlows);
    await page.waitForFunction((id) => !!RED.nodes.workspace(id), 'old-tab');
    await page.evaluate(() => RED.workspaces.show('old-tab'));
    const states = await Promise.all(ids.map(async (id) => ({ id, ...(await nodeState(page, id)) })));
    expect(states).toEqual(ids.map((id) => ({ id, valid: true, errorShown: false })));
    // The fields added since now hold the dialog's defaults, so the dialog shows them.
    expect(await page.evaluate(() => RED.nodes.node('old-in').recoverySeconds)).toBe(10);
    await deleteTab(page, 'old-tab');
  });

  it('accepts a field deploy ignores for the options chosen, and marks it once the dialog shows an option that reads it', async () => {
    // Deploy reads none of these: no kind comes from the source, no port of its own, no source API base URL.
    const flow = [
      { id: 'ignored-tab', type: 'tab', label: 'ignored fields' },
      { id: 'ignored-store', type: 'finance-store', name: 'store' },
      { id: 'ignored-erp', type: 'finance-erp', name: 'erp', embeddedSandbox: true },
      { id: 'ignored-source', type: 'finance-source', name: 'source', apiBaseUrl: '', apiTimeoutMs: '50' },
      {
        id: 'ignored-master-data',
        type: 'finance-master-data',
        z: 'ignored-tab',
        x: 200,
        y: 80,
        store: 'ignored-store',
        erp: 'ignored-erp',
        sourcePath: '',
        wires: [[], []],
      },
      {
        id: 'ignored-in',
        type: 'finance-event-in',
        z: 'ignored-tab',
        x: 200,
        y: 160,
        source: 'ignored-source',
        store: 'ignored-store',
        mode: 'http',
        listenPort: '',
        listenHost: 'not a host',
        wires: [[], []],
      },
    ];
    await importClipboard(page, JSON.stringify(flow));
    await page.waitForFunction((id) => !!RED.nodes.workspace(id), 'ignored-tab');
    await page.evaluate(() => RED.workspaces.show('ignored-tab'));
    const states = [];
    for (const id of ['ignored-master-data', 'ignored-in']) states.push({ id, ...(await nodeState(page, id)) });
    states.push({ id: 'ignored-source', valid: await page.evaluate(() => RED.nodes.node('ignored-source').valid) });
    expect(states).toEqual([
      { id: 'ignored-master-data', valid: true, errorShown: false },
      { id: 'ignored-in', valid: true, errorShown: false },
      { id: 'ignored-source', valid: true },
    ]);

    // The listen address shows, and is read, once the node has a port of its own; emptied again, it is not.
    await openEditDialog(page, 'ignored-in');
    expect(await markedFields(page)).toEqual([]);
    const port = page.locator('#node-input-listenPort');
    await port.fill('8081');
    await port.press('Tab');
    expect(await markedFields(page)).toEqual(['node-input-listenHost']);
    await port.fill('');
    await port.press('Tab');
    expect(await markedFields(page)).toEqual([]);
    await saveDialog(page);
    expect(await nodeState(page, 'ignored-in')).toEqual({ valid: true, errorShown: false });
    await deleteTab(page, 'ignored-tab');
  });

  it.each(NODE_EXAMPLES.map((menuPath) => [menuPath.join(' > '), menuPath]))(
    'imports %s from the menu, deploys it and shows its debug output',
    async (_name, menuPath) => {
      await openExamples(page, PACKAGE.name);
      await importExample(page, menuPath);
      const tab = await tabOf(page, menuPath.join('/'));
      await page.evaluate((tabId) => RED.workspaces.show(tabId), tab);
      await pointAtTestPort(page, nodeRed.url);
      await deploy(page);
      await clearDebug(page);
      const debugs = new Set(await debugNodesOf(page, tab));
      for (const inject of await injectsOf(page, tab)) {
        await pressInject(page, inject);
        await page.waitForTimeout(300);
      }
      // Every pressed button shows something: wait until the sidebar has output from this example's debug nodes.
      const shown = await waitFor(
        `debug output of ${menuPath.join('/')}`,
        async () => {
          const messages = (await debugMessages(page)).filter((message) => debugs.has(message.node));
          return messages.length > 0 ? messages : undefined;
        },
        { timeoutMs: 20_000 },
      );
      expect(shown.length).toBeGreaterThan(0);
      expect(shown.every((message) => message.text.trim() !== '')).toBe(true);
      await deleteTab(page, tab);
    },
    90_000,
  );

  it('runs the expense pipeline from the menu: signed events in, approved, posted and written back', async () => {
    await openExamples(page, PACKAGE.name);
    await importExample(page, EXPENSE_PIPELINE);
    const tab = await tabOf(page, EXPENSE_PIPELINE.join('/'));
    await page.evaluate((tabId) => RED.workspaces.show(tabId), tab);

    // The connections, as an analyst sets them: the ERP's base URL, the source's secret and write-back API.
    const nodes = await page.evaluate((tabId) => {
      const found: Record<string, string> = {};
      RED.nodes.eachNode((node: any) => {
        if (node.z !== tabId) return;
        if (node.erp && !found.erp) found.erp = node.id;
        if (node.type === 'finance-event-in') found.intake = node.id;
      });
      return found;
    }, tab);
    await openEditDialog(page, nodes.erp);
    await editReferencedConfig(page, 'erp');
    await page.locator('#node-config-input-baseUrl').fill(sandbox.url);
    await closeConfigDialog(page);
    await saveDialog(page);
    await openEditDialog(page, nodes.intake);
    await editReferencedConfig(page, 'source');
    await page.locator('#node-config-input-secret').fill(DEMO_WEBHOOK_SECRET);
    const apiBaseUrl = page.locator('#node-config-input-apiBaseUrl');
    if ((await apiBaseUrl.inputValue()) === EXAMPLE_SANDBOX_URL) await apiBaseUrl.fill(sandbox.url);
    await closeConfigDialog(page);
    await saveDialog(page);
    await pointAtTestPort(page, nodeRed.url);
    await deploy(page);
    await clearDebug(page);

    // One signed expense report, then the pipeline's own Approve button for each approval request it shows
    // (a report over budget needs its manager and then the finance controller), until it is written back.
    const webhookPath = await page.evaluate((id) => RED.nodes.node(id).path, nodes.intake);
    const event = sampleEvent({ profile: 'cloudevents', scheme: 'generic', seed: 4242, secret: DEMO_WEBHOOK_SECRET });
    const report = event.expected.reportId;
    const response = await fetch(`${nodeRed.url}${webhookPath}`, {
      method: 'POST',
      headers: event.headers,
      body: new Uint8Array(event.rawBody),
    });
    expect(response.status).toBe(202);
    const approve = await page.evaluate((tabId) => {
      let id = '';
      RED.nodes.eachNode((node: any) => {
        if (node.z === tabId && node.type === 'inject' && /^approve/i.test(node.name)) id = node.id;
      });
      return id;
    }, tab);
    expect(approve).not.toBe('');
    let approved = 0;
    const shown = await waitFor(
      `${report} written back`,
      async () => {
        const messages = await debugMessages(page);
        const requests = messages.filter((message) => message.node === 'exp-debug-requests');
        if (messages.some((message) => message.node === 'exp-debug-done')) return messages;
        if (requests.length > approved) {
          expect(requests[requests.length - 1].text).toContain(report);
          approved = requests.length;
          await pressInject(page, approve);
        }
        return undefined;
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    const done = shown.filter((message) => message.node === 'exp-debug-done');
    expect(done).toHaveLength(1);
    expect(done[0].text).toMatch(/JNL-\d+/);
    const sandboxState = await fetch(`${sandbox.url}/_sandbox/state`).then((r) => r.json());
    expect(sandboxState.postings.filter((posting: any) => posting.externalReference.includes(report))).toHaveLength(1);
    expect(sandboxState.writebacks.filter((writeback: any) => writeback.documentId === report)).toEqual([
      expect.objectContaining({ status: 'posted' }),
    ]);

    // The whole pipeline and its debug output in one picture.
    await page.evaluate(() => {
      RED.view.select({ nodes: [] });
      for (let step = 0; step < 3; step += 1) RED.actions.invoke('core:zoom-out');
    });
    await page
      .locator('.red-ui-notification')
      .first()
      .waitFor({ state: 'detached', timeout: 10_000 })
      .catch(() => undefined);
    await page.screenshot({ path: screenshot('expense-pipeline.png') });
  }, 120_000);

  it('logged no error in the browser console or the runtime log', () => {
    expect(editor.browserErrors).toEqual([]);
    expect(
      nodeRed
        .output()
        .split('\n')
        .filter((line) => line.includes('[error]')),
    ).toEqual([]);
  });
});

/**
 * Gives one validated field of the open dialog a wrong value and answers its input id when the dialog marks
 * it; restores the value afterwards. Fields that only show for some choice of a select are tried with each
 * choice. A dialog without such a field must mark an emptied config field.
 */
async function showsAWrongValue(page: Page, fields: DialogField[]): Promise<string> {
  const shown = await wrongValueInVisibleFields(page, fields);
  if (shown) return shown;
  for (const select of fields.filter((each) => each.kind === 'select')) {
    const input = page.locator(`#node-input-${select.property}`);
    const original = await input.inputValue();
    const choices = await input.evaluate((element) =>
      Array.from((element as HTMLSelectElement).options).map((option) => option.value),
    );
    for (const choice of choices.filter((value) => value !== original)) {
      await input.selectOption(choice);
      const found = await wrongValueInVisibleFields(page, await dialogFields(page, await typeOfOpenDialog(page)));
      if (found) {
        await input.selectOption(original);
        return found;
      }
    }
    await input.selectOption(original);
  }
  for (const field of fields.filter((each) => each.kind === 'config' && each.required)) {
    const selector = `#node-input-${field.property}`;
    const select = page.locator(selector);
    const original = await select.inputValue();
    await select.selectOption('_ADD_');
    const marked = await hasInputError(page, selector);
    await select.selectOption(original);
    if (marked && !(await hasInputError(page, selector))) return selector.slice(1);
  }
  return 'no field shows a wrong value';
}

const WRONG_VALUES = ['', 'not a valid value', '-1', '{{', '$$$(('];

async function wrongValueInVisibleFields(page: Page, fields: DialogField[]): Promise<string | undefined> {
  for (const field of fields.filter((each) => each.kind === 'text' && (each.required || each.validated))) {
    const selector = `#node-input-${field.property}`;
    const input = page.locator(selector);
    const original = await input.inputValue();
    for (const wrong of WRONG_VALUES) {
      await input.fill(wrong);
      await input.press('Tab');
      if (await hasInputError(page, selector)) {
        await input.fill(original);
        await input.press('Tab');
        if (await hasInputError(page, selector)) throw new Error(`${selector} stays invalid with its value restored`);
        return selector.slice(1);
      }
    }
    await input.fill(original);
  }
  for (const field of fields.filter((each) => each.kind === 'typed' && each.validated)) {
    const selector = `#node-input-${field.property}`;
    for (const wrong of WRONG_VALUES) {
      const original = await setTypedInput(page, field.property, wrong);
      const marked = await hasInputError(page, selector);
      await setTypedInput(page, field.property, original);
      if (marked && !(await hasInputError(page, selector))) return selector.slice(1);
    }
  }
  return undefined;
}

/** The inputs of the open dialog that show as invalid. */
function markedFields(page: Page): Promise<string[]> {
  return page.$$eval('.red-ui-tray [id^="node-input-"].input-error', (inputs) => inputs.map((input) => input.id));
}

function typeOfOpenDialog(page: Page): Promise<string> {
  return page.evaluate(() => RED.editor.getEditStack().slice(-1)[0].type as string);
}
