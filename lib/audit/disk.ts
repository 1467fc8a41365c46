/**
 * The disk calls of the trail writer. Writes go through a small interface so that tests can act out a full
 * disk (a write that takes only part of its bytes, then fails) or a failing sync without filling a disk.
 */
import * as fs from 'node:fs';

export interface TrailDisk {
  /** Writes `length` bytes of `data` from `offset` at the end of the file; resolves with how many were taken. */
  write(fd: number, data: Buffer, offset: number, length: number): Promise<number>;
  fdatasync(fd: number): Promise<void>;
  ftruncate(fd: number, length: number): Promise<void>;
}

export const realDisk: TrailDisk = {
  write: (fd, data, offset, length) =>
    new Promise((resolve, reject) =>
      fs.write(fd, data, offset, length, null, (err, written) => (err ? reject(err) : resolve(written))),
    ),
  fdatasync: (fd) => new Promise((resolve, reject) => fs.fdatasync(fd, (err) => (err ? reject(err) : resolve()))),
  ftruncate: (fd, length) =>
    new Promise((resolve, reject) => fs.ftruncate(fd, length, (err) => (err ? reject(err) : resolve()))),
};

/** Writes every byte of `data`: a disk that is filling up may take only part of a write without an error. */
export async function writeAll(disk: TrailDisk, fd: number, data: Buffer): Promise<void> {
  let offset = 0;
  while (offset < data.length) {
    const written = await disk.write(fd, data, offset, data.length - offset);
    // A write that takes nothing and reports no error would otherwise loop for ever.
    if (written <= 0) throw new Error(`the disk took no bytes of a ${data.length}-byte write`);
    offset += written;
  }
}

const NEWLINE = 0x0a;
const BACKWARD_CHUNK_BYTES = 64 * 1024;

/** The offset of the last newline before `end` in the open file, or -1: reads backwards, so any line length works. */
export function lastNewlineBefore(fd: number, end: number): number {
  const buffer = Buffer.alloc(BACKWARD_CHUNK_BYTES);
  let chunkEnd = end;
  while (chunkEnd > 0) {
    const chunkStart = Math.max(0, chunkEnd - BACKWARD_CHUNK_BYTES);
    const chunk = buffer.subarray(0, chunkEnd - chunkStart);
    fs.readSync(fd, chunk, 0, chunk.length, chunkStart);
    const found = chunk.lastIndexOf(NEWLINE);
    if (found !== -1) return chunkStart + found;
    chunkEnd = chunkStart;
  }
  return -1;
}

/** Whether the byte before `end` is a newline (a file that ends with a whole line). */
export function endsWithNewline(fd: number, end: number): boolean {
  const byte = Buffer.alloc(1);
  fs.readSync(fd, byte, 0, 1, end - 1);
  return byte[0] === NEWLINE;
}

/** The bytes from `start` to `end` of the open file. */
export function readRange(fd: number, start: number, end: number): Buffer {
  const bytes = Buffer.alloc(end - start);
  fs.readSync(fd, bytes, 0, bytes.length, start);
  return bytes;
}
