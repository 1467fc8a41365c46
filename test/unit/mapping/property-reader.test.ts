/**
 * finance-map's message properties are parsed once at deploy (lib/mapping/property-reader.ts) and must read
 * what Node-RED's own RED.util.getMessageProperty reads, which parses them on every message.
 */
import { util } from '@node-red/util';
import { propertyReader } from '../../../lib/mapping/property-reader';

const parse = (expression: string) => util.normalisePropertyExpression(expression) as unknown[];
const get = (msg: unknown, expression: string) =>
  util.getMessageProperty(msg as Parameters<typeof util.getMessageProperty>[0], expression);

/** What Node-RED answers, with a thrown "parent missing" as undefined (the node's reading of it). */
function nodeRed(msg: unknown, expression: string): unknown {
  try {
    return get(msg, expression);
  } catch {
    return undefined;
  }
}

const message = {
  payload: {
    itemizations: [{ ID: 'I1' }],
    'with.dot': { deep: 7 },
    list: [[1, 2], { x: 'y' }],
    text: 'abc',
    empty: null,
    zero: 0,
  },
  kind: 'itemizations',
  topic: 'concur',
};

describe('propertyReader', () => {
  it.each([
    'payload.itemizations',
    'msg.payload.itemizations',
    'payload["itemizations"][0].ID',
    "payload['with.dot'].deep",
    'payload.list[0][1]',
    'payload.list[1].x',
    'payload.text.length',
    'payload.empty',
    'payload.empty.below',
    'payload.zero',
    'payload.missing',
    'payload.missing.below.further',
    'missing.below',
    'topic',
    'payload[msg.kind]',
    'payload[msg.kind][0].ID',
    'payload[msg.nothing]',
  ])('reads %s as Node-RED does', (expression) => {
    const read = propertyReader(expression, parse, get);
    expect(read(message)).toEqual(nodeRed(message, expression));
    expect(read({})).toEqual(nodeRed({}, expression));
  });

  it('parses a fixed path once, at creation, never per message', () => {
    const parsed: string[] = [];
    const counting = (expression: string) => {
      parsed.push(expression);
      return parse(expression);
    };
    const read = propertyReader('msg.payload.itemizations', counting, get);
    for (let index = 0; index < 3; index += 1) expect(read(message)).toEqual([{ ID: 'I1' }]);
    expect(parsed).toEqual(['payload.itemizations']);
  });

  it('refuses an expression that is not a message property when it is created', () => {
    expect(() => propertyReader('payload..x', parse, get)).toThrow();
    expect(() => propertyReader('payload[', parse, get)).toThrow();
  });
});
