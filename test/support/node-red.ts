/** Shared set-up for node tests in a real Node-RED runtime (node-red-node-test-helper). */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { NODE_RED_MAIN, requireFromNodeRed } from './node-red-install';
const helper = require('node-red-node-test-helper');

helper.init(NODE_RED_MAIN);

export { helper };

/** A fresh temporary folder, removed by the returned cleanup. */
export function tempDir(prefix: string): { dir: string; remove: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `finance-sync-${prefix}-`));
  return { dir, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** Core nodes the flows in node tests use (Catch, Status, Complete need a tab and z on every node). */
export const coreNodes = {
  catch: requireFromNodeRed('@node-red/nodes/core/common/25-catch.js'),
  status: requireFromNodeRed('@node-red/nodes/core/common/25-status.js'),
  complete: requireFromNodeRed('@node-red/nodes/core/common/24-complete.js'),
};
