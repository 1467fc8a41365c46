/**
 * `finance-source`: one source system (CloudEvents sender, SAP Concur, Ramp, Coupa). It knows how to read the
 * source's events (profile with its options), how to verify them (signature scheme, secrets, tolerance) and
 * how to reach the source's API for write-back (one HTTP client, built at deploy and closed on close).
 */
import type { NodeAPI, NodeDef } from 'node-red';
import { FinanceError } from '../../lib/errors';
import { ErpClient } from '../../lib/erp/client';
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

export = function register(RED: NodeAPI): void {
  function FinanceSource(this: FinanceSourceNode, def: FinanceSourceDef) {
    RED.nodes.createNode(this, def);
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
      api?.close();
      api = undefined;
      done();
    });
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
    },
  });
};
