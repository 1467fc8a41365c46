/**
 * Every node's editor text comes in English (en-US) and German (de) with the same keys, and the build copies
 * both next to the compiled node (where Node-RED looks for them). The nodes are read from package.json, so a
 * new node is checked without changing this test.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

const root = path.resolve(__dirname, '..', '..', '..');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const TYPES = Object.keys(pkg['node-red'].nodes as Record<string, string>);
const LANGUAGES = ['en-US', 'de'];

type Messages = { [key: string]: string | Messages };

function readMessages(dir: string, type: string, language: string): Messages {
  return JSON.parse(fs.readFileSync(path.join(dir, type, 'locales', language, `${type}.json`), 'utf8')) as Messages;
}

/** Every message key as a dotted path, with its text. */
function flatten(messages: Messages, prefix = ''): Map<string, string> {
  const keys = new Map<string, string>();
  for (const [key, value] of Object.entries(messages)) {
    if (typeof value === 'string') keys.set(`${prefix}${key}`, value);
    else for (const [inner, text] of flatten(value, `${prefix}${key}.`)) keys.set(inner, text);
  }
  return keys;
}

/** The `__name__` placeholders of a text, which a translation must keep. */
const placeholders = (text: string) => [...text.matchAll(/__\w+__/g)].map((match) => match[0]).sort();

describe('editor texts in every language', () => {
  it('are found for the nodes', () => {
    expect(TYPES.length).toBeGreaterThan(0);
  });

  it.each(TYPES)('%s has the same keys in en-US and de, each translated text non-empty', (type) => {
    const english = flatten(readMessages(path.join(root, 'nodes'), type, 'en-US'));
    const german = flatten(readMessages(path.join(root, 'nodes'), type, 'de'));
    expect([...english.keys()].filter((key) => !german.has(key))).toEqual([]);
    expect([...german.keys()].filter((key) => !english.has(key))).toEqual([]);
    for (const [key, text] of german) {
      expect({ key, empty: text.trim() === '' }).toEqual({ key, empty: false });
      expect({ key, placeholders: placeholders(text) }).toEqual({ key, placeholders: placeholders(english.get(key)!) });
    }
    expect([...english.keys()].every((key) => key.startsWith(`${type}.`))).toBe(true);
  });

  it.each(TYPES)('%s: the build puts every language next to the compiled node', (type) => {
    const built = path.join(root, path.dirname(pkg['node-red'].nodes[type]), '..');
    for (const language of LANGUAGES) {
      expect(flatten(readMessages(built, type, language))).toEqual(
        flatten(readMessages(path.join(root, 'nodes'), type, language)),
      );
    }
  });
});
