import * as fs from 'node:fs';
import * as path from 'node:path';
import { inboxKey } from '../../../lib/reliability/store';
import { storeSandbox } from './store-fixture';

/** The resident KB of each mapping of `file` in this process, from /proc/self/smaps (Linux). */
function residentKbOfMappings(file: string): number[] {
  const resident: number[] = [];
  let inFile = false;
  for (const line of fs.readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
    if (/^[0-9a-f]+-[0-9a-f]+ /.test(line)) {
      inFile = line.endsWith(` ${file}`);
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (inFile && rss) resident.push(Number(rss[1]));
  }
  return resident;
}

describe('LMDB store file mapping', () => {
  const sandbox = storeSandbox('mapping');
  afterAll(() => sandbox.cleanup());

  it('maps its file once while it grows, so its pages are not resident twice', async () => {
    const dir = sandbox.newPath();
    const store = sandbox.open({ path: dir });
    // 3,000 events of about 1.5 KB: a file of several MB, past the four doublings lmdb-js would make from 128 KB.
    const payload = {
      lines: Array.from({ length: 20 }, (_, i) => ({ line: i, amount: '12.34', text: 'x'.repeat(40) })),
    };
    for (let batch = 0; batch < 30; batch++) {
      await Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          store.accept({ key: inboxKey('brex', `e${batch}-${i}`), envelope: { id: `e${batch}-${i}` }, payload }),
        ),
      );
    }
    const file = path.join(dir, 'data.mdb');
    const fileKb = fs.statSync(file).size / 1024;
    expect(fileKb).toBeGreaterThan(4 * 1024);

    const mappings = residentKbOfMappings(file);
    expect(mappings).toHaveLength(1);
    expect(mappings[0]).toBeLessThanOrEqual(fileKb);
  });
});
