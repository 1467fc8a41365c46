/**
 * `finance-erp`: one ERP connection, shared by every node that talks to that ERP. It owns the HTTP client
 * (keep-alive agent, concurrency cap, rate limit, circuit breaker, auth), the dialect and the retry policy
 * the calling nodes apply; with "embedded sandbox" on it also runs the sandbox ERP inside this Node-RED, so
 * an imported example works with no other system.
 */
import { EventEmitter } from 'node:events';
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { upgradeConfig } from '../../lib/config/migrations';
import { erpConnectionConfig, type ErpCredentials, type ErpDialogSettings } from '../../lib/config/erp-connection';
import { retryPolicyFromDialog } from '../../lib/config/retry-settings';
import { ErpClient, type CircuitState, type TlsOptions } from '../../lib/erp/client';
import { createDialect } from '../../lib/erp/dialect';
import { DEFAULT_RETRY_POLICY } from '../../lib/reliability/retry-policy';
import { UserHandles } from '../../lib/reliability/user-handles';
import { startSandbox, type SandboxHandle } from '../../lib/sandbox/server';
import type { ErpConnection, FinanceErpNode } from '../shared/config-nodes';
import { observeErpClient } from '../shared/observe';
import { withoutCredentials } from '../shared/redact-error';

interface FinanceErpDef extends NodeDef, Omit<ErpDialogSettings, 'name'> {
  tls?: string;
}

/**
 * How long a close lets the nodes using the connection finish first: a write in flight gets this long before
 * the client aborts it. The calling nodes' close (nodes/shared/retrying.ts) waits longer, so a write cut here
 * fails as retryable and is parked in the store, which waits for them in turn (finance-store).
 */
const USERS_CLOSE_WAIT_MS = 3000;

interface TlsConfigNode extends Node {
  addTLSOptions(options: Record<string, unknown>): void;
}

export = function register(RED: NodeAPI): void {
  function FinanceErp(this: FinanceErpNode, def: FinanceErpDef) {
    def = upgradeConfig(def); // a node saved by an older version of the pack (lib/config/migrations.ts)
    RED.nodes.createNode(this, def);
    (this as { users: UserHandles }).users = new UserHandles();
    const credentials: ErpCredentials = this.credentials ?? {};
    let sandbox: SandboxHandle | undefined;
    let stopObserving: (() => void) | undefined;
    // Config nodes show no status, so breaker changes are passed on to the nodes that use this connection.
    const circuitEvents = new EventEmitter<{ state: [CircuitState] }>();
    // A wrong retry setting makes the connection unusable (below), so the default is never applied silently.
    let retrySettingsProblem: unknown;
    try {
      this.retryPolicy = retryPolicyFromDialog(def);
    } catch (err) {
      retrySettingsProblem = err;
      this.retryPolicy = DEFAULT_RETRY_POLICY;
    }

    const tls: TlsOptions | undefined = (() => {
      if (!def.tls) return undefined;
      const tlsNode = RED.nodes.getNode(def.tls) as TlsConfigNode | null;
      if (!tlsNode) return undefined;
      const options: Record<string, unknown> = {};
      tlsNode.addTLSOptions(options);
      return options as TlsOptions;
    })();

    const ready: Promise<ErpConnection> = (async () => {
      if (retrySettingsProblem) throw retrySettingsProblem;
      if (def.embeddedSandbox) {
        sandbox = await startSandbox({ port: 0 });
        this.log(`embedded sandbox ERP listening on ${sandbox.url}`);
      }
      const config = erpConnectionConfig(def, credentials, sandbox?.url);
      const client = new ErpClient({ ...config, tls });
      client.onCircuitState((state) => {
        if (state === 'open') this.warn(`circuit breaker open: calls to this ERP are paused`);
        else this.log(`circuit breaker ${state}`);
        circuitEvents.emit('state', state);
      });
      // The audit trail and the metrics see every call and every breaker change of this connection.
      stopObserving = observeErpClient(this, client);
      return { client, dialect: createDialect(config.dialect, client, config) };
    })().catch((err: unknown) => {
      throw withoutCredentials(err);
    });
    // A wrong setting is reported once at deploy; every node using this connection reports it again per message.
    ready.catch((err: Error) => this.error(`ERP connection "${def.name || def.id}" is not usable: ${err.message}`));

    this.connection = () => ready;
    this.onCircuitState = (listener) => {
      circuitEvents.on('state', listener);
      return () => {
        circuitEvents.off('state', listener);
      };
    };

    this.on('close', (_removed: boolean, done: () => void) => {
      // Node-RED closes this node together with the nodes using it: their calls in flight may finish first.
      this.users
        .released(USERS_CLOSE_WAIT_MS)
        .then(() => {
          circuitEvents.removeAllListeners();
          stopObserving?.();
          return ready;
        })
        .then(
          (connection) => connection.client.close(),
          () => undefined,
        )
        .then(() => sandbox?.close())
        .then(
          () => done(),
          () => done(),
        );
    });
  }

  // Node-RED's typings cannot express a node that adds members of its own; the constructor adds them.
  RED.nodes.registerType('finance-erp', FinanceErp as never, {
    credentials: {
      username: { type: 'text' },
      password: { type: 'password' },
      token: { type: 'password' },
      apiKey: { type: 'password' },
      clientId: { type: 'text' },
      clientSecret: { type: 'password' },
      apiSecret: { type: 'password' },
      proxyUsername: { type: 'text' },
      proxyPassword: { type: 'password' },
    },
  });
};
