/**
 * `finance-store`: the durable store of this host (LMDB), or of several hosts (PostgreSQL). Intake commits accepted events here before it
 * acknowledges them; ERP-writing nodes keep their idempotency ledger here; timers, retries and caches live
 * here so they survive a restart.
 */
import * as os from 'node:os';
import type { NodeAPI, NodeDef } from 'node-red';
import {
  describeStore,
  storeOptions,
  type StoreCredentials,
  type StoreDialogSettings,
} from '../../lib/config/store-settings';
import { redactText } from '../../lib/erp/redact';
import { openStore, type FinanceStore } from '../../lib/reliability/store';
import { StoreHousekeeping } from '../../lib/reliability/store-housekeeping';
import { UserHandles } from '../../lib/reliability/user-handles';
import type { FinanceStoreNode } from '../shared/config-nodes';
import { withoutCredentials } from '../shared/redact-error';

interface FinanceStoreDef extends NodeDef, StoreDialogSettings {}

/**
 * How long a close waits for the flow nodes using the store to close first (they park failed writes and record
 * outcomes while they close): well under Node-RED's 15 s close timeout.
 */
const USERS_CLOSE_WAIT_MS = 10_000;

export = function register(RED: NodeAPI): void {
  function FinanceStoreConfig(this: FinanceStoreNode & { credentials?: StoreCredentials }, def: FinanceStoreDef) {
    RED.nodes.createNode(this, def);
    (this as { users: UserHandles }).users = new UserHandles();
    const userDir: string = (RED.settings as unknown as { userDir?: string }).userDir ?? os.homedir();
    let store: FinanceStore | undefined;
    let housekeeping: StoreHousekeeping | undefined;
    let failure: Error | undefined;
    // The server field may hold a URL with a password ("postgres://user:password@host/db"): it is logged redacted.
    const password = this.credentials?.pgPassword;
    const redacted = (text: string) => redactText(text, password ? [password] : []);
    try {
      const options = storeOptions(def, userDir, this.credentials ?? {});
      store = openStore(options);
      this.log(`finance store: ${redacted(describeStore(options))}`);
      housekeeping = new StoreHousekeeping({
        store,
        onPurged: (removed) =>
          this.log(
            `finance store: removed what had expired: ${removed.inbox} finished events, ${removed.ledger} ledger ` +
              `records, ${removed.kv} values, ${removed.leases} leases`,
          ),
        onError: (err) =>
          this.warn(
            `finance store: removing expired records failed, tried again in an hour: ${redacted((err as Error).message)}`,
          ),
      });
      housekeeping.start();
    } catch (err) {
      // Every node using the store reports this failure again: without the server's password either.
      const reason = withoutCredentials(err);
      failure = Object.assign(reason, { message: redacted(reason.message) });
      this.error(`The finance store could not be opened: ${failure.message}`);
    }

    this.store = () => {
      if (store) return store;
      throw failure;
    };

    this.on('close', (_removed: boolean, done: () => void) => {
      // Node-RED closes this node together with the nodes using it: the store stays open until they have closed.
      const closing = this.users.released(USERS_CLOSE_WAIT_MS).then(async () => {
        const open = store;
        const stopping = housekeeping?.stop();
        store = undefined;
        housekeeping = undefined;
        failure = new Error('The finance store is closed (the flow is being redeployed or stopped).');
        await stopping;
        await open?.close();
      });
      closing.then(
        () => done(),
        () => done(),
      );
    });
  }

  // Node-RED's typings cannot express a node that adds members of its own; the constructor adds them.
  RED.nodes.registerType('finance-store', FinanceStoreConfig as never, {
    credentials: { pgPassword: { type: 'password' } },
  });
};
