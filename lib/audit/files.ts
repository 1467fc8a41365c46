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

/** One line of a trail file; `terminated` is false for a last line without its newline (cut short). */
export interface TrailLine {
  text: string;
  terminated: boolean;
}

export interface ReadLinesOptions {
  /** Read only the bytes before this offset (the part of a file known to be written whole). */
  endByte?: number;
  chunkBytes?: number;
}

/** Reads a file's lines one at a time without holding the whole file. */
export function* readLines(file: string, options: ReadLinesOptions = {}): Generator<TrailLine> {
  const fd = fs.openSync(file, 'r');
  try {
    const splitter = new LineSplitter();
    const buffer = Buffer.alloc(options.chunkBytes ?? 1 << 20);
    let offset = 0;
    for (;;) {
      const read = fs.readSync(fd, buffer, 0, bytesToRead(buffer, offset, options.endByte), offset);
      if (read === 0) break;
      offset += read;
      yield* splitter.push(buffer.subarray(0, read));
    }
    yield* splitter.end();
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * readLines without holding the thread: reads asynchronously and lets other work run between chunks, so a
 * verification inside Node-RED does not freeze the runtime for seconds on a big trail.
 */
export async function* readLinesAsync(file: string, options: ReadLinesOptions = {}): AsyncGenerator<TrailLine> {
  const handle = await fs.promises.open(file, 'r');
  try {
    const splitter = new LineSplitter();
    // Smaller chunks than readLines: checking one chunk's records is what holds the thread between yields.
    const buffer = Buffer.alloc(options.chunkBytes ?? 128 * 1024);
    let offset = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, bytesToRead(buffer, offset, options.endByte), offset);
      if (bytesRead === 0) break;
      offset += bytesRead;
      yield* splitter.push(buffer.subarray(0, bytesRead));
      await new Promise((resolve) => setImmediate(resolve));
    }
    yield* splitter.end();
  } finally {
    await handle.close();
  }
}

function bytesToRead(buffer: Buffer, offset: number, endByte: number | undefined): number {
  return endByte === undefined ? buffer.length : Math.max(0, Math.min(buffer.length, endByte - offset));
}

/** Splits chunks of a file into lines; a character split across two chunks stays whole. */
class LineSplitter {
  readonly #decoder = new StringDecoder('utf8');
  #rest = '';

  push(chunk: Buffer): TrailLine[] {
    const lines = (this.#rest + this.#decoder.write(chunk)).split('\n');
    this.#rest = lines.pop() ?? '';
    return lines.map((text) => ({ text, terminated: true }));
  }

  end(): TrailLine[] {
    const rest = this.#rest + this.#decoder.end();
    this.#rest = '';
    return rest.length > 0 ? [{ text: rest, terminated: false }] : [];
  }
}
