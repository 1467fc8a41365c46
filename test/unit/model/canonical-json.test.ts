import { canonicalJson } from '../../../lib/model/canonical-json';

describe('canonicalJson', () => {
  it('gives one text for values that differ only in the order of their keys, at every depth', () => {
    const a = { b: 1, a: { d: [1, { z: 'x', y: null }], c: 'é' } };
    const b = { a: { c: 'é', d: [1, { y: null, z: 'x' }] }, b: 1 };
    expect(canonicalJson(a)).toBe(canonicalJson(b));
    expect(canonicalJson(a)).toBe('{"a":{"c":"é","d":[1,{"y":null,"z":"x"}]},"b":1}');
  });

  it('leaves out undefined members and writes undefined array items as null, as JSON.stringify does', () => {
    const value = { keep: 0, drop: undefined, list: [undefined, 'x'] };
    expect(canonicalJson(value)).toBe('{"keep":0,"list":[null,"x"]}');
    expect(JSON.parse(canonicalJson(value))).toEqual(JSON.parse(JSON.stringify(value)));
  });

  it('tells values apart that differ in anything but key order', () => {
    expect(canonicalJson({ amount: '10.00' })).not.toBe(canonicalJson({ amount: '10.0' }));
    expect(canonicalJson([1, 2])).not.toBe(canonicalJson([2, 1]));
    expect(canonicalJson('x')).toBe('"x"');
    expect(canonicalJson(undefined)).toBe('null');
  });
});
