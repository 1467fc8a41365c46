const { areaShares } = require('../../../bench/lib/profile-areas') as {
  areaShares: (profile: unknown) => Array<{ area: string; share: number }>;
};

/** A CPU profile of one call tree: each frame is [functionName, url, children]. */
type Frame = [string, string, Frame[]?];

function profileOf(tree: Frame, samples: Array<[string, number]>): unknown {
  const nodes: Array<{ id: number; callFrame: { functionName: string; url: string }; children: number[] }> = [];
  const idByName = new Map<string, number>();
  const add = ([functionName, url, children = []]: Frame): number => {
    const id = nodes.length + 1;
    const node = { id, callFrame: { functionName, url }, children: [] as number[] };
    nodes.push(node);
    idByName.set(functionName, id);
    node.children = children.map(add);
    return id;
  };
  add(tree);
  return {
    nodes,
    samples: samples.map(([name]) => idByName.get(name)),
    timeDeltas: samples.map(([, time]) => time),
  };
}

const DIST = 'file:///work/finance-sync/dist';

describe('bench:profile areas', () => {
  it('counts a sample for the innermost pack function on its stack, or else for its leaf, without idle and start-up', () => {
    const profile = profileOf(
      [
        '(root)',
        '',
        [
          ['(idle)', ''],
          ['(garbage collector)', ''],
          ['Module._compile', 'node:internal/modules/cjs/loader', [['loadSchemas', `${DIST}/lib/model/validate.js`]]],
          [
            'onInput',
            `${DIST}/nodes/shared/node-input.js`,
            [
              [
                'request',
                `${DIST}/lib/erp/client.js`,
                [['writeHead', 'node:_http_outgoing', [['chainLine', `${DIST}/lib/audit/chain.js`]]]],
              ],
            ],
          ],
          ['emit', 'file:///x/node_modules/@node-red/runtime/lib/flows/Flow.js'],
          ['writev', ''],
        ],
      ],
      [
        ['(idle)', 500],
        ['loadSchemas', 400],
        ['writeHead', 30], // Node's HTTP client under the ERP client
        ['chainLine', 20], // the audit trail, called from inside it
        ['onInput', 10],
        ['(garbage collector)', 20],
        ['emit', 10],
        ['writev', 10],
      ],
    );
    expect(areaShares(profile)).toEqual([
      { area: 'ERP and source API calls (client, transport, Node HTTP under them)', share: 0.3 },
      { area: 'audit trail and metrics', share: 0.2 },
      { area: 'garbage collection', share: 0.2 },
      { area: 'node plumbing (input, retries, idempotency ledger)', share: 0.1 },
      { area: 'Node-RED runtime (routing, hooks)', share: 0.1 },
      {
        area: 'Node.js with no pack function on the stack (socket writes, HTTP parsing, streams, timers)',
        share: 0.1,
      },
    ]);
  });
});
