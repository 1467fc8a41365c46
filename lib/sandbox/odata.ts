/**
 * The part of OData URL conventions the ERP simulators need: resource paths with key predicates
 * (`purchaseOrders(<guid>)`, `A_PurchaseOrder('4500000001')`, `A_PurchaseOrderItem(PurchaseOrder='1',PurchaseOrderItem='10')`)
 * and `$filter` expressions made of `<property> <eq|ne|gt|ge|lt|le> <literal>` joined by `and`, which is all
 * the dialects send. Anything else is refused with a clear 400, so a dialect cannot rely on more than this.
 */

export interface PathSegment {
  name: string;
  /** The key predicate: a single key under '' or named keys; undefined when the segment has none. */
  keys?: Record<string, string>;
}

export class ODataSyntaxError extends Error {}

export function parseResourcePath(segments: readonly string[]): PathSegment[] {
  return segments.map((segment) => {
    const match = /^([^()]+)(?:\((.*)\))?$/.exec(segment);
    if (!match) throw new ODataSyntaxError(`"${segment}" is not a resource path segment`);
    if (match[2] === undefined) return { name: match[1] };
    return { name: match[1], keys: parseKeys(match[2]) };
  });
}

function parseKeys(text: string): Record<string, string> {
  const keys: Record<string, string> = {};
  for (const part of splitOutsideQuotes(text, ',')) {
    const eq = /^\s*(\w+)\s*=\s*(.+?)\s*$/.exec(part);
    if (eq) keys[eq[1]] = literalText(eq[2]);
    else keys[''] = literalText(part.trim());
  }
  return keys;
}

function literalText(literal: string): string {
  const quoted = /^'(.*)'$/s.exec(literal);
  return quoted ? quoted[1].replace(/''/g, "'") : literal;
}

function splitOutsideQuotes(text: string, separator: string): string[] {
  const parts: string[] = [];
  let current = '';
  let quoted = false;
  for (const char of text) {
    if (char === "'") quoted = !quoted;
    if (char === separator && !quoted) {
      parts.push(current);
      current = '';
    } else current += char;
  }
  parts.push(current);
  return parts;
}

export type Operator = 'eq' | 'ne' | 'gt' | 'ge' | 'lt' | 'le';

export interface Comparison {
  property: string;
  operator: Operator;
  /** The literal as text (quotes removed); `quoted` tells a string literal from a number, date or GUID. */
  value: string;
  quoted: boolean;
}

const COMPARISON = /^\s*([\w/]+)\s+(eq|ne|gt|ge|lt|le)\s+('(?:[^']|'')*'|[\w.:+-]+)\s*$/;

/** `a eq 'x' and b ge 2026-01-01` -> comparisons; throws ODataSyntaxError for anything else. */
export function parseFilter(filter: string | null): Comparison[] {
  if (filter === null || filter.trim() === '') return [];
  return splitOnAnd(filter).map((clause) => {
    const match = COMPARISON.exec(clause);
    if (!match) throw new ODataSyntaxError(`$filter clause "${clause.trim()}" is not "<property> <op> <literal>"`);
    const quoted = match[3].startsWith("'");
    return {
      property: match[1],
      operator: match[2] as Operator,
      value: quoted ? literalText(match[3]) : match[3],
      quoted,
    };
  });
}

function splitOnAnd(filter: string): string[] {
  const parts: string[] = [];
  let current = '';
  let quoted = false;
  const words = filter.split(/(\s+and\s+|')/i);
  for (const word of words) {
    if (word === "'") {
      quoted = !quoted;
      current += word;
    } else if (!quoted && /^\s+and\s+$/i.test(word)) {
      parts.push(current);
      current = '';
    } else current += word;
  }
  parts.push(current);
  return parts;
}

/** Whether a record satisfies every comparison; values compare as numbers when both sides are numbers. */
export function matchesFilter(record: Record<string, unknown>, comparisons: readonly Comparison[]): boolean {
  return comparisons.every(({ property, operator, value, quoted }) => {
    const actual = record[property];
    const left: string | number = typeof actual === 'number' ? actual : String(actual ?? '');
    const right: string | number = !quoted && typeof actual === 'number' ? Number(value) : value;
    switch (operator) {
      case 'eq':
        return left === right;
      case 'ne':
        return left !== right;
      case 'gt':
        return left > right;
      case 'ge':
        return left >= right;
      case 'lt':
        return left < right;
      case 'le':
        return left <= right;
    }
  });
}
