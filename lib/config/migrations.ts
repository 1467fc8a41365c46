/**
 * Config migrations: a node saved by an older version of the pack loads and upgrades.
 *
 * Every node type has an ordered list of steps; each step names the pack version whose dialog changed the
 * node's saved shape and turns the shape before it into the shape after it. A node's constructor runs
 * `upgradeConfig(def)` before it reads its settings (one line per node), so old flows deploy and behave as
 * they did; the editor does the same on import and load (nodes/finance-sync-editor: it fills the fields an
 * old flow lacks with the dialog's defaults, so the node is valid without being opened).
 *
 * Steps recognise the old shape from the saved config itself (a missing field, an old name or value), so a
 * step applied to a config that is already new changes nothing. That needs no version number in the flow:
 * Node-RED keeps only the fields a node's dialog declares, so a version would be lost by every editor that
 * predates it. A future change that cannot be recognised from the shape alone (the same field meaning
 * something else) must get a new field name instead.
 */

export type SavedConfig = Record<string, unknown>;

export interface ConfigMigration {
  /** The pack version whose dialog saves the new shape. */
  since: string;
  /** What changed, for the log and for readers. */
  change: string;
  /** Changes `config` in place when it has the old shape; answers whether it did. */
  upgrade(config: SavedConfig): boolean;
}

/** A step for fields a later version added: missing ones get the value the dialog gives a new node. */
export function addedFields(since: string, change: string, defaults: SavedConfig): ConfigMigration {
  return {
    since,
    change,
    upgrade(config) {
      let changed = false;
      for (const [field, value] of Object.entries(defaults)) {
        if (config[field] === undefined) {
          config[field] = value;
          changed = true;
        }
      }
      return changed;
    },
  };
}

/** The retry policy fields that ERP connections and write-back nodes gained, with their dialog defaults. */
const RETRY_POLICY_DEFAULTS = {
  retryInitialSeconds: 1,
  retryBackoffCoefficient: 2,
  retryMaximumSeconds: 300,
  retryMaximumAttempts: 10,
  retryAfterCapSeconds: 600,
};

/** Waits on a 429 that use no attempt (retry-policy.ts maximumThrottledWaits), with the dialog default. */
const THROTTLED_WAITS_DEFAULT = { retryMaximumThrottledWaits: 20 };

/**
 * finance-budget-check's netting of a revised document's own open purchase order (lib/budget/commitment.ts)
 * was the checkbox `netOfCommitment`, off by default, so nearly every saved node has it false without anyone
 * having chosen it, and checked revisions counting their earlier version twice. It is now `netOwnCommitment`,
 * on by default: a new name, because a saved `false` cannot tell a choice from the old default, while the
 * missing new field tells an old node from a current one (where `false` is a choice and stays). Every old node
 * is upgraded to netting: it takes off only an open order the ERP counts, and checks in full (saying so)
 * when it cannot find one (commitment.ts), so it cannot let through more than the ERP leaves.
 */
export const NET_OWN_COMMITMENT_STEP: ConfigMigration = {
  since: '0.1.0',
  change: "netting of a revised document's own purchase order on (netOwnCommitment replaces netOfCommitment)",
  upgrade(config) {
    if (config.netOwnCommitment !== undefined) return false;
    config.netOwnCommitment = true;
    delete config.netOfCommitment;
    return true;
  },
};

/** The steps per node type, oldest first. A type without steps has kept its first shape. */
export const CONFIG_MIGRATIONS: Readonly<Record<string, readonly ConfigMigration[]>> = {
  'finance-erp': [
    addedFields('0.1.0', 'retry policy of the nodes calling this ERP', RETRY_POLICY_DEFAULTS),
    addedFields('0.1.0', 'circuit breaker', {
      circuitBreaker: true,
      circuitFailureRate: 50,
      circuitMinimumCalls: 20,
      circuitWindowSeconds: 30,
      circuitOpenSeconds: 30,
    }),
    addedFields('0.1.0', 'waits on 429 that use no attempt', THROTTLED_WAITS_DEFAULT),
  ],
  'finance-event-in': [
    addedFields('0.1.0', 'inbox lease recovery: re-emit unfinished events every recoverySeconds', {
      recoverySeconds: 10,
    }),
  ],
  'finance-budget-check': [
    addedFields('0.1.0', 'optional store for durable retries (empty: retries are not kept)', { store: '' }),
    NET_OWN_COMMITMENT_STEP,
    addedFields('0.1.0', 'reserving what passes until the ERP write (off for nodes saved before it; new nodes: on)', {
      reserveFunds: false,
      reserveHoldHours: 72,
    }),
  ],
  'finance-writeback': [
    addedFields('0.1.0', 'retry policy of the write-back', RETRY_POLICY_DEFAULTS),
    addedFields('0.1.0', 'waits on 429 that use no attempt', THROTTLED_WAITS_DEFAULT),
  ],
  'finance-retry': [addedFields('0.1.0', 'waits on 429 that use no attempt', THROTTLED_WAITS_DEFAULT)],
};

/**
 * Upgrades a saved config to the current shape in place and answers it. In place, because the object
 * Node-RED hands a node's constructor carries hidden properties (the node's flow) that a copy would lose.
 */
export function upgradeConfig<T extends { type?: string }>(config: T): T {
  upgradeConfigWithReport(config);
  return config;
}

/** Upgrades in place and answers the changes that were applied, oldest first. */
export function upgradeConfigWithReport(config: { type?: string }): string[] {
  const steps = CONFIG_MIGRATIONS[config.type ?? ''] ?? [];
  const saved = config as SavedConfig;
  return steps.filter((step) => step.upgrade(saved)).map((step) => `${step.since}: ${step.change}`);
}
