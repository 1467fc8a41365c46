/**
 * The Node-RED the node and end-to-end tests run: the project's dev dependency (4.x), or another install
 * named by FINANCE_SYNC_NODE_RED (a node-red package folder), which `.ci/run` uses to run the same tests on
 * Node-RED 5 under Node 22 without putting Node-RED 5 into the lock file.
 */
import { createRequire } from 'node:module';
import * as path from 'node:path';

export const NODE_RED_DIR = process.env.FINANCE_SYNC_NODE_RED
  ? path.resolve(process.env.FINANCE_SYNC_NODE_RED)
  : path.dirname(require.resolve('node-red/package.json'));

/** `require` as seen from inside that Node-RED, for its own modules (@node-red/nodes, its runtime). */
export const requireFromNodeRed = createRequire(path.join(NODE_RED_DIR, 'package.json'));

/** The file `require('node-red')` loads (for node-red-node-test-helper). */
export const NODE_RED_MAIN = requireFromNodeRed.resolve(NODE_RED_DIR);

/** The command-line entry that starts a Node-RED process. */
export const NODE_RED_CLI = path.join(NODE_RED_DIR, 'red.js');
