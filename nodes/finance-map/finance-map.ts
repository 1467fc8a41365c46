/**
 * `finance-map`: turns a source document into the canonical model and validates it. Built-in profiles read
 * CloudEvents, Concur and Ramp documents (lib/sources/profiles); a custom JSONata expression maps anything
 * else. Valid documents leave through output 1 as msg.payload; invalid ones through output 2 with every
 * violation in msg.errors and msg.payload as it came in, so the source document can be inspected and fixed.
 * All mapping rules live in lib/mapping; this node only compiles the JSONata, reads the message and sends.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import { FinanceError } from '../../lib/errors';
import {
  completeMapping,
  envelopeWithDocument,
  invalid,
  jsonataCompileProblem,
  jsonataViolation,
  mapSettings,
  mapWithProfile,
  remapReplayed,
  type MapDialogSettings,
  type MapSettings,
  type MappingOutcome,
  type SeparateData,
} from '../../lib/mapping';
import { propertyReader, type PropertyReader } from '../../lib/mapping/property-reader';
import type { Violation } from '../../lib/model/violations';
import { inboxKey } from '../../lib/reliability/store';
import { useConfigNodes, type FinanceStoreNode } from '../shared/config-nodes';
import { mappingUsed } from '../../lib/observe/mapping-version';
import { asFinanceError, onInput } from '../shared/node-input';
import { showStatus } from '../shared/status';

interface FinanceMapDef extends NodeDef, MapDialogSettings {
  store?: string;
}

interface FinanceMessage extends NodeMessageInFlow {
  finance?: { source?: unknown; id?: unknown; [key: string]: unknown };
  errors?: Violation[];
  /** Set by finance-dead-letter on a replayed message. */
  replay?: unknown;
}

type PreparedExpression = ReturnType<NodeAPI['util']['prepareJSONataExpression']>;

export = function register(RED: NodeAPI): void {
  /** Compiled once per deploy (DESIGN principle 7), never per message. */
  function compile(text: string, node: Node): PreparedExpression {
    try {
      return RED.util.prepareJSONataExpression(text, node);
    } catch (err) {
      throw new FinanceError('CONFIG_INVALID', jsonataCompileProblem(err));
    }
  }

  /**
   * A reader of msg.<property>, parsed once at deploy (lib/mapping/property-reader.ts). `field` is the dialog's
   * label for the setting ("Expenses", "Itemizations", "Allocations"). No property: nothing to read.
   */
  function readerOf(property: string | undefined, field: string): PropertyReader {
    if (property === undefined) return () => undefined;
    try {
      return propertyReader(property, RED.util.normalisePropertyExpression, (msg, expression) =>
        RED.util.getMessageProperty(msg as NodeMessage, expression),
      );
    } catch (err) {
      throw new FinanceError(
        'CONFIG_INVALID',
        `${field} property "msg.${property}" is not a message property (${(err as Error).message}). Fix it in the node's dialog.`,
      );
    }
  }

  function storeOf(id: string | undefined): FinanceStoreNode | undefined {
    if (!id) return undefined;
    const found = RED.nodes.getNode(id) as FinanceStoreNode | null;
    if (found === null) {
      throw new FinanceError(
        'CONFIG_INVALID',
        'The finance store this node records outcomes in is not deployed; choose a store in the dialog or clear the field.',
      );
    }
    return found;
  }

  /** What the source serves apart from the document; a missing parent object means there is none. */
  /** What a profile reads from the message besides msg.payload: the expenses, itemizations and allocations. */
  interface ProfileReaders {
    lines: PropertyReader;
    separate: (msg: FinanceMessage) => SeparateData;
  }

  /** The readers of a profile's message properties, and the names the itemizations and allocations are read from. */
  function profileReaders(active: Extract<MapSettings, { profile: unknown }>): ProfileReaders {
    const itemizations = readerOf(active.itemizationsProperty, 'Itemizations');
    const allocations = readerOf(active.allocationsProperty, 'Allocations');
    const named = (property: string | undefined) => (property === undefined ? undefined : `msg.${property}`);
    const sources = {
      ...(active.itemizationsProperty !== undefined && { itemizations: named(active.itemizationsProperty) }),
      ...(active.allocationsProperty !== undefined && { allocations: named(active.allocationsProperty) }),
    };
    return {
      lines: readerOf(active.linesProperty, 'Expenses'),
      separate: (msg) => ({ itemizations: itemizations(msg), allocations: allocations(msg), sources }),
    };
  }

  /** Evaluates against the whole message, like the core change node; a failure is this document's problem. */
  function evaluate(prepared: PreparedExpression, msg: FinanceMessage): Promise<{ error: unknown; result: unknown }> {
    return new Promise((resolve) => {
      RED.util.evaluateJSONataExpression(prepared, msg, (error, result) => resolve({ error, result }));
    });
  }

  /** An invalid document is a final outcome for its event: the inbox entry is closed, so it is not re-emitted. */
  async function finishInvalid(
    storeNode: FinanceStoreNode | undefined,
    msg: FinanceMessage,
    errors: Violation[],
  ): Promise<void> {
    const source = msg.finance?.source;
    const id = msg.finance?.id;
    // A message that did not come through intake has no inbox entry to close.
    if (storeNode === undefined || typeof source !== 'string' || typeof id !== 'string') return;
    await storeNode.store().finish(inboxKey(source, id), { status: 'invalid', detail: { errors } });
  }

  function FinanceMap(this: Node, def: FinanceMapDef) {
    RED.nodes.createNode(this, def);
    let settings: MapSettings | undefined;
    let expression: PreparedExpression | undefined;
    let readers: ProfileReaders | undefined;
    let storeNode: FinanceStoreNode | undefined;
    let configError: FinanceError | undefined;
    try {
      settings = mapSettings(def);
      if (settings.mapping === 'jsonata') expression = compile(settings.expression, this);
      if (settings.mapping !== 'jsonata') readers = profileReaders(settings);
      storeNode = storeOf(def.store);
      useConfigNodes(this, storeNode);
    } catch (err) {
      configError = asFinanceError(err);
      this.error(configError.message);
      showStatus(this, { fill: 'red', shape: 'ring', text: configError.code });
    }

    // Named in every audit record of this node (nodes/shared/observe.ts).
    const mapping = settings
      ? mappingUsed(settings.mapping, settings.mapping === 'jsonata' ? settings.expression : undefined)
      : undefined;

    // Translated once: looking a text up per message cost a tenth of the node's time (i18next, CPU profile).
    const validText = RED._('finance-map.status.valid');

    const mapWithExpression = async (msg: FinanceMessage, active: MapSettings): Promise<MappingOutcome> => {
      const { error, result } = await evaluate(expression as PreparedExpression, msg);
      return error ? invalid(jsonataViolation(error)) : completeMapping(result, active.target);
    };

    onInput(
      this,
      async (incoming, send) => {
        if (configError !== undefined || settings === undefined) throw configError;
        const msg = incoming as FinanceMessage;
        const replayed = msg.replay === undefined ? undefined : remapReplayed(msg.payload, settings.target);
        // A profile maps synchronously; only JSONata needs a callback.
        const outcome =
          replayed ??
          (settings.mapping === 'jsonata'
            ? await mapWithExpression(msg, settings)
            : mapWithProfile(
                settings.profile,
                msg.payload,
                (readers as ProfileReaders).lines(msg),
                settings.target,
                (readers as ProfileReaders).separate(msg),
              ));
        if (outcome.valid) {
          msg.payload = outcome.document;
          msg.finance = envelopeWithDocument(msg.finance, outcome.docType, outcome.docId);
          // A replayed message may still carry the violations of an earlier, failed attempt.
          delete msg.errors;
          send([msg, null]);
          return { fill: 'green', shape: 'dot', text: validText };
        }
        await finishInvalid(storeNode, msg, outcome.errors);
        msg.errors = outcome.errors;
        send([null, msg]);
        return {
          fill: 'yellow',
          shape: 'dot',
          text: RED._('finance-map.status.invalid', { count: outcome.errors.length }),
        };
      },
      {
        busyText: RED._('finance-map.status.mapping'),
        facts: () => (mapping ? { mapping } : {}),
      },
    );
  }

  RED.nodes.registerType('finance-map', FinanceMap);
};
