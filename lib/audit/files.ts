/**
 * The files of a trail: `audit-000001.jsonl`, `audit-000002.jsonl`, ... in one directory; the highest number
 * is the one being written. Rotation starts the next number, and the chain runs on across files.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { StringDecoder } from 'node:string_decoder';

const FILE_NAME = /^audit-(\d{6,})\.jsonl$/;

export function trailFileName(index: number): string {
  return `audit-${String(index).padStart(6, '0')}.jsonl`;
}

/** The trail files in `dir`, oldest first, with their numbers. */
export function listTrailFiles(dir: string): Array<{ index: number; file: string }> {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .map((name) => ({ name, match: FILE_NAME.exec(name) }))
    .filter((entry) => entry.match !== null)
    .map((entry) => ({ index: Number(entry.match![1]), file: path.join(dir, entry.name) }))
    .sort((a, b) => a.index - b.index);
}

/** Reads a file's lines one at a time without holding the whole file; the last line may lack its newline. */
export function* readLines(file: string, chunkBytes = 1 << 20): Generator<string> {
  const fd = fs.openSync(file, 'r');
  try {
    const buffer = Buffer.alloc(chunkBytes);
    // The decoder keeps a character split across two chunks whole.
    const decoder = new StringDecoder('utf8');
    let rest = '';
    for (;;) {
      const read = fs.readSync(fd, buffer, 0, chunkBytes, null);
      if (read === 0) break;
      const text = rest + decoder.write(buffer.subarray(0, read));
      const lines = text.split('\n');
      rest = lines.pop() ?? '';
      yield* lines;
    }
    rest += decoder.end();
    if (rest.length > 0) yield rest;
  } finally {
    fs.closeSync(fd);
  }
}
