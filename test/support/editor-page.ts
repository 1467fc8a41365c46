/**
 * Drives the Node-RED editor in Debian's Chromium (playwright-core, no browser download) the way an analyst
 * does: drag from the palette, double-click to edit, the Import > Examples menu, the Deploy button and the
 * debug sidebar. Everything the browser test does in the editor goes through here.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type BrowserContext, type Locator, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
/** Headless, and quiet: the machine has no network, so nothing may try to reach one. */
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];
/** Wide enough for the example pipelines and the debug sidebar in one screenshot. */
const VIEWPORT = { width: 1680, height: 1000 };

export interface Editor {
  page: Page;
  /** Console errors and uncaught page errors seen so far. */
  browserErrors: string[];
  close(): Promise<void>;
}

// `RED` is the editor's global; its shape is not typed here.
declare const RED: any;

/** A fresh, throw-away Chromium profile and one page on the editor, with its palette loaded. */
export async function openEditor(url: string): Promise<Editor> {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'finance-sync-chromium-'));
  const context: BrowserContext = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: VIEWPORT,
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(15_000);
  const browserErrors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') browserErrors.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => browserErrors.push(`page: ${error.message}`));
  await page.goto(url);
  await page.waitForSelector('.red-ui-palette-node', { timeout: 60_000 });
  // The editor shows its welcome notifications and tips first; wait until it has settled.
  await page.waitForFunction(() => typeof RED !== 'undefined' && RED.nodes.getType('inject') !== undefined);
  return {
    page,
    browserErrors,
    close: async () => {
      await context.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** The palette's DOM id for a category name (Node-RED replaces what is not a word character with `_`). */
export function paletteCategoryId(category: string): string {
  return `red-ui-palette-container-${category.replace(/[^\w-]/g, '_')}`;
}

/** Drags a node type from the palette onto the canvas and answers the new node's id. */
export async function dragFromPalette(page: Page, type: string, at: { x: number; y: number }): Promise<string> {
  const item = page.locator(`.red-ui-palette-node[data-palette-type="${type}"]`);
  await item.scrollIntoViewIfNeeded();
  const box = await item.boundingBox();
  if (!box) throw new Error(`${type} is not visible in the palette`);
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.down();
  await page.mouse.move(at.x, at.y, { steps: 12 });
  await page.mouse.up();
  return page.evaluate((t) => {
    const selected = RED.view.selection().nodes ?? [];
    const node = selected.find((each: { type: string }) => each.type === t);
    if (!node) throw new Error(`dropping ${t} did not add a node`);
    return node.id as string;
  }, type);
}

/** The SVG element of a node on the canvas (ids are not always valid CSS identifiers). */
export const canvasNode = (page: Page, id: string) => page.locator(`[id="${id}"] rect.red-ui-flow-node`);

export async function openEditDialog(page: Page, id: string): Promise<void> {
  await canvasNode(page, id).dblclick();
  await page.locator('#node-dialog-ok').waitFor({ state: 'visible' });
  // The tray slides in; inputs are usable once the animation is over.
  await page.waitForTimeout(400);
}

export interface DialogField {
  property: string;
  /** `config` for a reference to a config node, `text` for a text or number input, `typed` for a TypedInput. */
  kind: 'config' | 'text' | 'typed' | 'select' | 'other';
  required: boolean;
  validated: boolean;
}

/** The dialog fields of a node type, from its registered definition. */
export function dialogFields(page: Page, type: string): Promise<DialogField[]> {
  return page.evaluate((t) => {
    const definition = RED.nodes.getType(t);
    return Object.entries(definition.defaults as Record<string, any>).map(([property, spec]) => {
      const input = document.getElementById(`node-input-${property}`) as HTMLInputElement | null;
      const isConfig = typeof spec.type === 'string' && RED.nodes.getType(spec.type)?.category === 'config';
      const isText = !!input && input.tagName === 'INPUT' && input.type === 'text' && input.offsetParent !== null;
      // A TypedInput keeps the original input and shows its own container right after it.
      const typed = input?.classList.contains('red-ui-typedInput') ? (input.nextElementSibling as HTMLElement) : null;
      const isTyped = !!typed && typed.offsetParent !== null;
      return {
        property,
        kind: isConfig
          ? 'config'
          : isText
            ? 'text'
            : isTyped
              ? 'typed'
              : input?.tagName === 'SELECT' && input.offsetParent !== null
                ? 'select'
                : 'other',
        required: !!spec.required,
        validated: typeof spec.validate === 'function',
      };
    });
  }, type);
}

export async function hasInputError(page: Page, selector: string): Promise<boolean> {
  return page.locator(selector).evaluate((element) => element.classList.contains('input-error'));
}

/** Sets a TypedInput's value as typing into it does, and answers the value it had. */
export function setTypedInput(page: Page, property: string, value: string): Promise<string> {
  return page.evaluate(
    ({ p, v }) => {
      const input = ($ as any)(`#node-input-${p}`);
      const before = input.typedInput('value');
      input.typedInput('value', v);
      input.trigger('change');
      return before;
    },
    { p: property, v: value },
  );
}

declare const $: unknown;

/**
 * Fills a config-node field in the open dialog: picks an existing config node of its type, or adds a new one
 * with its dialog's defaults (the "+" button, then Add), as an analyst does the first time.
 */
export async function fillConfigField(page: Page, property: string): Promise<void> {
  const select = page.locator(`#node-input-${property}`);
  if ((await select.inputValue()) !== '_ADD_') return;
  const existing = await select.evaluate((element) =>
    Array.from((element as HTMLSelectElement).options)
      .map((option) => option.value)
      .filter((value) => value !== '_ADD_'),
  );
  if (existing.length > 0) {
    await select.selectOption(existing[0]);
    return;
  }
  await page.locator(`#node-input-btn-${property}-add`).click();
  await page.locator('#node-config-dialog-ok').waitFor({ state: 'visible' });
  await page.waitForTimeout(400);
  await page.locator('#node-config-dialog-ok').click();
  await page.locator('#node-config-dialog-ok').waitFor({ state: 'detached' });
  await page.waitForTimeout(300);
}

/** Opens the config node a field of the open dialog refers to (its pencil button). */
export async function editReferencedConfig(page: Page, property: string): Promise<void> {
  await page.locator(`#node-input-btn-${property}-edit`).click();
  await page.locator('#node-config-dialog-ok').waitFor({ state: 'visible' });
  await page.waitForTimeout(400);
}

export async function closeConfigDialog(page: Page): Promise<void> {
  await page.locator('#node-config-dialog-ok').click();
  await page.locator('#node-config-dialog-ok').waitFor({ state: 'detached' });
  await page.waitForTimeout(300);
}

export async function saveDialog(page: Page): Promise<void> {
  await page.locator('#node-dialog-ok').click();
  await page.locator('#node-dialog-ok').waitFor({ state: 'detached' });
}

/** What the editor knows about a node: whether it is valid and whether the canvas shows its error triangle. */
export function nodeState(page: Page, id: string): Promise<{ valid: boolean; errorShown: boolean }> {
  return page.evaluate((nodeId) => {
    RED.view.redraw(true);
    const node = RED.nodes.node(nodeId);
    const triangle = document.querySelector(`[id="${nodeId}"] .red-ui-flow-node-error`);
    return { valid: node.valid !== false, errorShown: !!triangle && !triangle.classList.contains('hide') };
  }, id);
}

/** The example menu's tree under Import > Examples, opened at a module, as the names it lists. */
export async function openExamples(page: Page, moduleName: string): Promise<string[]> {
  await page.locator('#red-ui-header-button-sidemenu').click();
  await page.locator('#menu-item-import').click();
  await page.locator('#red-ui-tab-red-ui-clipboard-dialog-import-tab-examples a').click();
  const tree = page.locator('#red-ui-clipboard-dialog-import-tab-examples');
  await expand(tree.locator('.red-ui-treeList-label').filter({ hasText: moduleName }).first());
  // Open every folder of the module, so the files in sub-folders are listed too. An opened folder's entries
  // appear a moment later, sub-folders among them, so look again until a look opens nothing and finds no new entry.
  const labels = tree.locator('.red-ui-treeList-label');
  let seen = -1;
  for (let look = 0; look < 25; look += 1) {
    let opened = 0;
    for (const folder of await tree.locator('.red-ui-treeList-label:has(.fa-folder)').all())
      opened += await expand(folder);
    const count = await labels.count();
    if (opened === 0 && count === seen) break;
    seen = count;
    await page.waitForTimeout(200);
  }
  return tree.locator('.red-ui-treeList-label-text').allTextContents();
}

/**
 * Opens a tree entry unless it is open already (the tree keeps its state between openings of the dialog);
 * 1 if it opened it.
 */
async function expand(label: Locator): Promise<number> {
  const item = label.locator('xpath=..');
  if (((await item.getAttribute('class')) ?? '').split(' ').includes('expanded')) return 0;
  await label.click();
  return 1;
}

/**
 * Imports one example from the open Import > Examples dialog, by its menu path below the module. Import is
 * enabled once the editor has fetched the selected file; a click that lands while the tree is still laying
 * itself out selects nothing, so it is repeated. A failure closes the dialog, so the next step starts clean.
 */
export async function importExample(page: Page, menuPath: string[]): Promise<void> {
  const tree = page.locator('#red-ui-clipboard-dialog-import-tab-examples');
  const file = tree.locator('.red-ui-treeList-label-text').getByText(menuPath[menuPath.length - 1], { exact: true });
  const importButton = page.locator('#red-ui-clipboard-dialog-ok');
  const importEnabled = () =>
    page
      .waitForFunction(
        () => !(document.getElementById('red-ui-clipboard-dialog-ok') as HTMLButtonElement).disabled,
        undefined,
        { timeout: 5_000 },
      )
      .then(() => true)
      .catch(() => false);
  try {
    let enabled = false;
    for (let attempt = 0; attempt < 6 && !enabled; attempt += 1) {
      await file.click();
      enabled = await importEnabled();
    }
    await importButton.click();
    await importButton.waitFor({ state: 'hidden' });
  } catch (err) {
    await page
      .locator('#red-ui-clipboard-dialog-cancel')
      .click({ timeout: 2_000 })
      .catch(() => undefined);
    throw err;
  }
}

/** Imports flow JSON through Import > Clipboard, as pasting a saved flow file does. */
export async function importClipboard(page: Page, json: string): Promise<void> {
  await page.locator('#red-ui-header-button-sidemenu').click();
  await page.locator('#menu-item-import').click();
  await page.locator('#red-ui-tab-red-ui-clipboard-dialog-import-tab-clipboard a').click();
  const text = page.locator('#red-ui-clipboard-dialog-import-text');
  await text.fill(json);
  await text.press('End'); // the editor checks the JSON on key up before it enables Import
  await page.locator('#red-ui-clipboard-dialog-ok').click();
  await page.locator('#red-ui-clipboard-dialog-ok').waitFor({ state: 'hidden' });
}

export async function closeImportDialog(page: Page): Promise<void> {
  await page.locator('#red-ui-clipboard-dialog-cancel').click();
}

/** Presses Deploy and waits until the editor has nothing left to deploy; a warning about invalid nodes fails. */
export async function deploy(page: Page): Promise<void> {
  await page.locator('#red-ui-header-button-deploy').click();
  const warning = page
    .locator('#red-ui-notifications .red-ui-notification')
    .filter({ hasText: 'not properly configured' });
  const outcome = await Promise.race([
    page.waitForFunction(() => !RED.nodes.dirty(), undefined, { timeout: 60_000 }).then(() => 'deployed'),
    warning
      .first()
      .waitFor({ timeout: 60_000 })
      .then(async () => `not deployed: ${await warning.first().textContent()}`),
  ]);
  if (outcome !== 'deployed') {
    await warning.first().getByRole('button', { name: 'Cancel' }).click();
    throw new Error(outcome);
  }
}

/** Presses an inject node's button on the canvas. */
export async function pressInject(page: Page, id: string): Promise<void> {
  await page.locator(`[id="${id}"] .red-ui-flow-node-button-button`).click();
}

export interface DebugMessage {
  node: string;
  text: string;
}

/** The messages in the debug sidebar, oldest first, each with the id of the debug node that showed it. */
export function debugMessages(page: Page): Promise<DebugMessage[]> {
  return page.$$eval('.red-ui-debug-content-list .red-ui-debug-msg', (elements) =>
    elements.map((element) => ({
      node: /red-ui-debug-msg-node-(\S+)/.exec(element.className)?.[1] ?? '',
      text: element.textContent ?? '',
    })),
  );
}

export async function clearDebug(page: Page): Promise<void> {
  await page.evaluate(() => RED.sidebar.show('debug'));
  await page.locator('#red-ui-sidebar-debug-clear').click();
}
