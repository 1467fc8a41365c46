/**
 * The node tests run on the Node-RED that test/support/node-red-install.ts names: the dev dependency (4.x),
 * or the install in FINANCE_SYNC_NODE_RED, which `.ci/run` points at Node-RED 5 (and then sets
 * FINANCE_SYNC_EXPECT_NODE_RED_MAJOR=5 and FINANCE_SYNC_EXPECT_NODE_MAJOR=22, so that step cannot pass on the
 * wrong Node-RED or Node.js; Node-RED processes the tests start run on the same Node.js as the tests).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { helper } from '../support/node-red';
import { NODE_RED_DIR } from '../support/node-red-install';

describe('the Node-RED under test', () => {
  it('is the one named by FINANCE_SYNC_NODE_RED (or the dev dependency), of the expected major version', async () => {
    await helper.startServer();
    try {
      const installed = JSON.parse(fs.readFileSync(path.join(NODE_RED_DIR, 'package.json'), 'utf8')).version;
      const reported = helper._RED.version;
      const running: string = typeof reported === 'function' ? reported() : reported;
      expect(running.replace(/-git$/, '')).toBe(installed);
      const major = process.env.FINANCE_SYNC_EXPECT_NODE_RED_MAJOR;
      if (major) expect(running.split('.')[0]).toBe(major);
      const nodeMajor = process.env.FINANCE_SYNC_EXPECT_NODE_MAJOR;
      if (nodeMajor) expect(process.versions.node.split('.')[0]).toBe(nodeMajor);
    } finally {
      await helper.stopServer();
    }
  });
});
