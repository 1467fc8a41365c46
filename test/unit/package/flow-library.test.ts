/**
 * The Flow Library scorecard rules (`node-red-dev validate`) that can be checked offline: the tool itself
 * needs the online catalogue and registry. N02 (every node in an example) is checked by
 * test/e2e/examples.test.ts; N01/P08 name uniqueness needs the catalogue: the `finance-` type prefix and the
 * scoped package name are what keep them unique.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

const root = path.resolve(__dirname, '..', '..', '..');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const lock = JSON.parse(fs.readFileSync(path.join(root, 'package-lock.json'), 'utf8'));

/** The package uses plain `>=x.y.z` ranges, so a numeric comparison is all the checks need. */
function atLeast(version: string, range: string): boolean {
  const minimum = /^>=\s*(\d+)\.(\d+)\.(\d+)$/.exec(range.trim());
  if (!minimum) throw new Error(`range "${range}" is not of the form >=x.y.z`);
  const [a, b] = [version.split('.').map(Number), minimum.slice(1).map(Number)];
  for (let i = 0; i < 3; i += 1) if (a[i] !== b[i]) return a[i] > b[i];
  return true;
}

/** The Node-RED releases the scorecard checks against (latest and maintenance when this was written). */
const NODE_RED_RELEASES = ['4.1.0', '5.0.0'];
/** The minimum Node.js of those releases (Node-RED 4.x: 18.5; 5.x: 22.9). */
const NODE_MINIMUMS = ['18.5.0', '22.9.0'];

describe('Flow Library scorecard', () => {
  it('P01 has a licence, P03 a repository and a bug tracker', () => {
    expect(pkg.license).toMatch(/\S/);
    expect(fs.existsSync(path.join(root, 'LICENSE'))).toBe(true);
    expect(pkg.repository?.url).toMatch(/^git\+https:\/\//);
    expect(pkg.bugs?.url).toMatch(/^https:\/\//);
  });

  it('P04 has a scoped name, P05 the node-red keyword', () => {
    expect(pkg.name).toMatch(/^@[a-z0-9-]+\/node-red-[a-z0-9-]+$/);
    expect(pkg.keywords).toContain('node-red');
  });

  it('P06 node-red.version is satisfied by the current Node-RED releases', () => {
    for (const release of NODE_RED_RELEASES) expect(atLeast(release, pkg['node-red'].version)).toBe(true);
  });

  it('P07 engines.node includes the minimum Node.js of those releases', () => {
    for (const minimum of NODE_MINIMUMS) expect(atLeast(minimum, pkg.engines.node)).toBe(true);
  });

  it('N01 registers every node type literally in its editor file, with the finance- prefix', () => {
    for (const [type, file] of Object.entries(pkg['node-red'].nodes as Record<string, string>)) {
      expect(type).toMatch(/^finance-[a-z-]+$/);
      const html = fs.readFileSync(path.join(root, 'nodes', type, `${type}.html`), 'utf8');
      expect(html).toMatch(new RegExp(`RED\\.nodes\\.registerType\\('${type}',\\s*\\{`));
      expect(file).toBe(`dist/nodes/${type}/${type}.js`);
      expect(fs.existsSync(path.join(root, 'nodes', type, `${type}.ts`))).toBe(true);
    }
  });

  it('D01 has at most six runtime dependencies, D03 each locked on the major its range names', () => {
    const dependencies = Object.keys(pkg.dependencies);
    expect(dependencies.length).toBeLessThanOrEqual(6);
    for (const name of dependencies) {
      const installed = lock.packages[`node_modules/${name}`]?.version as string;
      expect({ name, major: installed.split('.')[0] }).toEqual({
        name,
        major: /^\^(\d+)\./.exec(pkg.dependencies[name])?.[1],
      });
    }
  });

  it('D02 uses none of the packages the scorecard flags', () => {
    const flagged = ['request', 'node-red-contrib-', 'node-red', 'moment'];
    for (const name of Object.keys(pkg.dependencies)) {
      expect(flagged.some((bad) => name === bad || (bad.endsWith('-') && name.startsWith(bad)))).toBe(false);
    }
  });
});
