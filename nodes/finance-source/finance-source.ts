/**
 * `finance-source`: one source system (CloudEvents sender, SAP Concur, Ramp, Coupa). It knows how to read the
 * source's events (profile with its options), how to verify them (signature scheme, secrets, tolerance) and
 * how to reach the source's API for write-back (one HTTP client, built at deploy and closed on close, once the
 * nodes using it have finished: see USERS_CLOSE_WAIT_MS).
 */
import type { NodeAPI, NodeDef } from 'node-red';
import { FinanceError } from '../../lib/errors';
import { ErpClient } from '../../lib/erp/client';
import { UserHandles } from '../../lib/reliability/user-handles';
import {
  sourceSettings,
  webhookSecrets,
  type SourceCredentials,
  type SourceDialogSettings,
  type SourceSettings,
} from '../../lib/intake/source-settings';
import type { FinanceSourceNode } from '../shared/config-nodes';
import { withoutCredentials } from '../shared/redact-error';

interface FinanceSourceDef extends NodeDef, Omit<SourceDialogSettings, 'name'> {}

/**
 * How long a close lets the nodes using the source's API finish first, as finance-erp does: a write-back in
 * flight gets this long before the client aborts it. Node-RED closes this config node together with the
 * finance-writeback using it; the write-back's own close waits longer (nodes/shared/retrying.ts), so a call
 * cut here fails as retryable and is parked in the store.
 */
const USERS_CLOSE_WAIT_MS = 3000;

/** How often a closing source looks whether its API's calls have ended. */
const IDLE_POLL_MS = 20;

export = function register(RED: NodeAPI): void {
  function FinanceSource(this: FinanceSourceNode, def: FinanceSourceDef) {
    RED.nodes.createNode(this, def);
    (this as { users: UserHandles }).users = new UserHandles();
    const credentials = (this.credentials ?? {}) as SourceCredentials;
    let settings: SourceSettings | undefined;
    let failure: FinanceError | undefined;
    let api: ErpClient | undefined;
    try {
      settings = sourceSettings(def, credentials);
      api = settings.api ? new ErpClient(settings.api) : undefined;
    } catch (err) {
      failure = configFailure(err);
      // Reported once at deploy; every node using this source reports it again per event.
      this.error(`Source "${def.name || def.id}" is not usable: ${failure.message}`);
    }

    const usable = (): SourceSettings => {
      if (settings) return settings;
      throw failure;
    };
    // Getters, so a node that uses a misconfigured source gets the CONFIG_INVALID error naming the setting.
    Object.defineProperties(this, {
      profileName: { get: () => usable().profileName, enumerable: false },
      profile: { get: () => usable().profile, enumerable: false },
      signatureScheme: { get: () => usable().signatureScheme, enumerable: false },
      toleranceSeconds: { get: () => usable().toleranceSeconds, enumerable: false },
    });
    // Checked when an intake that verifies signatures asks (it reports a missing secret at its deploy), so a
    // source used only for polling or write-back needs no webhook secret.
    this.webhookSecrets = () => {
      const scheme = usable().signatureScheme;
      try {
        return webhookSecrets(scheme, credentials);
      } catch (err) {
        throw configFailure(err);
      }
    };
    this.api = () => {
      usable();
      return api;
    };

    this.on('close', (_removed: boolean, done: () => void) => {
      // Node-RED closes this node together with the nodes using it: their write-backs in flight may finish
      // first. Nodes that take a handle (useConfigNodes) are waited for; calls of nodes that do not are waited
      // for by watching the client, so no caller's request in flight is aborted before the bound.
      const closing = api;
      const giveUpAt = Date.now() + USERS_CLOSE_WAIT_MS;
      this.users
        .released(USERS_CLOSE_WAIT_MS)
        .then(() => closing && callsEnded(closing, giveUpAt))
        .finally(() => {
          closing?.close();
          if (api === closing) api = undefined;
          done();
        });
    });
  }

  /** Resolves once `client` has no call in flight or waiting, or at `giveUpAt` (epoch ms), whichever is first. */
  async function callsEnded(client: ErpClient, giveUpAt: number): Promise<void> {
    const busy = () => {
      const stats = client.stats();
      return stats.inFlight + stats.waitingForSlot + stats.waitingForRateLimit > 0;
    };
    while (busy() && Date.now() < giveUpAt) await new Promise((resolve) => setTimeout(resolve, IDLE_POLL_MS));
  }

  /** A setting's error as CONFIG_INVALID, with any credential it might quote taken out. */
  function configFailure(err: unknown): FinanceError {
    const redacted = withoutCredentials(err);
    return redacted instanceof FinanceError ? redacted : new FinanceError('CONFIG_INVALID', redacted.message);
  }

  // Node-RED's typings cannot express a node that adds members of its own; the constructor adds them.
  RED.nodes.registerType('finance-source', FinanceSource as never, {
    credentials: {
      secret: { type: 'password' },
      previousSecret: { type: 'password' },
      token: { type: 'password' },
      clientId: { type: 'text' },
      clientSecret: { type: 'password' },
      proxyUsername: { type: 'text' },
      proxyPassword: { type: 'password' },
    },
  });
};
