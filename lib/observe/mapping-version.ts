/**
 * Which mapping produced a document, for the audit trail: a built-in profile is versioned with the pack that
 * ships it; a custom JSONata mapping by the SHA-256 of its expression, so a changed expression is visible.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

let packVersion: string | undefined;

/** The version in the pack's package.json (found above this file, in the sources and in dist/ alike). */
export function packageVersion(): string {
  if (packVersion !== undefined) return packVersion;
  packVersion = 'unknown';
  for (let dir = __dirname; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (!fs.existsSync(file)) continue;
    const pkg = JSON.parse(fs.readFileSync(file, 'utf8')) as { name?: string; version?: string };
    if (pkg.name === '@finance-sync/node-red-finance-sync' && typeof pkg.version === 'string') {
      packVersion = pkg.version;
      break;
    }
  }
  return packVersion;
}

export function mappingUsed(mapping: string, expression?: string): { profile: string; version: string } {
  if (mapping === 'jsonata') {
    const digest = createHash('sha256')
      .update(expression ?? '')
      .digest('hex');
    return { profile: 'jsonata', version: `sha256:${digest.slice(0, 16)}` };
  }
  return { profile: mapping, version: packageVersion() };
}
