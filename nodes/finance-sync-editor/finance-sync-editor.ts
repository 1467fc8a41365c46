/**
 * `finance-sync-editor`: a Node-RED plugin with no runtime part of its own. Its editor file
 * (finance-sync-editor.html) upgrades finance nodes saved by an older version of the pack when the editor
 * loads or imports them; the runtime half is lib/config/migrations.ts, run by each node's constructor.
 */
import type { NodeAPI } from 'node-red';

export = function register(RED: NodeAPI): void {
  (RED.plugins as unknown as { registerPlugin(id: string, definition: object): void }).registerPlugin(
    'finance-sync-editor',
    { type: 'finance-sync-editor' },
  );
};
