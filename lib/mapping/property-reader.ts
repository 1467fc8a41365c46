/**
 * Reading a message property named in a node's dialog (e.g. `payload.itemizations`) on every message.
 *
 * RED.util.getMessageProperty parses the property expression on every call; finance-map reads three such
 * properties per message (expenses, itemizations, allocations), and the parsing was about a sixth of the node's
 * CPU in the mapping benchmark. The expression is parsed once, at deploy, into its path, and each message walks
 * the path. The answer is the one getMessageProperty gives, except that a missing parent reads as undefined
 * instead of throwing (the node treated both as "not there").
 */

/** Parses a property expression into its parts: RED.util.normalisePropertyExpression. */
export type PropertyParser = (expression: string) => unknown[];
/** Reads a property of a message the slow way, resolving every part per message: RED.util.getMessageProperty. */
export type PropertyGetter = (msg: unknown, expression: string) => unknown;

export type PropertyReader = (msg: unknown) => unknown;

/**
 * A reader of `msg.<expression>`. Throws what `parse` throws for an expression that is not a property (the
 * caller reports it at deploy). An expression with a part that refers to another message property
 * (`payload[msg.kind]`) depends on the message, so it is read with `get` each time.
 */
export function propertyReader(expression: string, parse: PropertyParser, get: PropertyGetter): PropertyReader {
  // getMessageProperty strips one leading "msg." before it parses.
  const own = expression.startsWith('msg.') ? expression.slice(4) : expression;
  const parts = parse(own);
  const fixed = parts.every((part) => typeof part === 'string' || typeof part === 'number');
  if (!fixed) {
    return (msg) => {
      try {
        return get(msg, expression);
      } catch {
        return undefined;
      }
    };
  }
  const path = parts as ReadonlyArray<string | number>;
  return (msg) => {
    let value: unknown = msg;
    for (const part of path) {
      if (value === undefined || value === null) return undefined;
      value = (value as Record<string | number, unknown>)[part];
    }
    return value;
  };
}
