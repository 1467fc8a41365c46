/**
 * Reads a webhook request's body as the exact bytes sent, because the signature is computed over them
 * (a JSON body parser would change them), and never holds more than the limit in memory.
 *
 * A body over the limit is still read to its end, up to a drain limit, and thrown away: a server that
 * answers 413 and closes while the sender is still uploading makes the sender's TCP stack see a reset
 * instead of the answer. Beyond the drain limit the sender is abusive and the caller closes the connection.
 */
import type { IncomingMessage } from 'node:http';
import { FinanceError } from '../errors';

/** Bytes read and discarded past the limit before giving up on a polite 413. */
export const DEFAULT_DRAIN_LIMIT_BYTES = 8 * 1024 * 1024;

export interface RawBodyOptions {
  maxBytes: number;
  drainLimitBytes?: number;
}

/**
 * Resolves with the body; rejects with FinanceError PAYLOAD_TOO_LARGE (details.drained false when the
 * request was not read to its end, so the connection must be closed), or with the stream's error when the
 * sender went away.
 */
export function readRawBody(request: IncomingMessage, options: RawBodyOptions): Promise<Buffer> {
  const { maxBytes } = options;
  const drainLimit = Math.max(options.drainLimitBytes ?? DEFAULT_DRAIN_LIMIT_BYTES, maxBytes);
  if (request.readableEnded) return new Promise((resolve) => resolve(bodyAlreadyRead(request, maxBytes)));

  return new Promise<Buffer>((resolve, reject) => {
    const declared = Number(request.headers['content-length']);
    if (Number.isFinite(declared) && declared > drainLimit) {
      request.pause();
      reject(tooLarge(declared, maxBytes, false));
      return;
    }
    const chunks: Buffer[] = [];
    let received = 0;
    let settled = false;

    const finish = (outcome: () => void): void => {
      if (settled) return;
      settled = true;
      request.off('data', onData);
      request.off('end', onEnd);
      request.off('error', onError);
      request.off('close', onClose);
      outcome();
    };
    const onData = (chunk: Buffer): void => {
      received += chunk.length;
      if (received <= maxBytes) {
        chunks.push(chunk);
        return;
      }
      chunks.length = 0;
      if (received > drainLimit) {
        request.pause();
        // Only part of the body was read: its real size is unknown, only that it is over the drain limit.
        finish(() => reject(tooLarge(received, maxBytes, false, drainLimit)));
      }
    };
    const onEnd = (): void =>
      finish(() => (received > maxBytes ? reject(tooLarge(received, maxBytes, true)) : resolve(Buffer.concat(chunks))));
    const onError = (err: Error): void => finish(() => reject(err));
    const onClose = (): void =>
      finish(() => reject(new Error('The sender closed the connection before the body was complete.')));

    request.on('data', onData);
    request.on('end', onEnd);
    request.on('error', onError);
    request.on('close', onClose);
  });
}

/**
 * Another middleware on the same route consumed the stream first (core `http in` with "raw body" on the
 * same path does). Its Buffer is still the exact bytes; a parsed object is not.
 */
function bodyAlreadyRead(request: IncomingMessage, maxBytes: number): Buffer {
  const body = (request as IncomingMessage & { body?: unknown }).body;
  if (!Buffer.isBuffer(body)) {
    throw new FinanceError(
      'CONFIG_INVALID',
      'The request body was already read and parsed by another route on the same path, so the signed bytes are ' +
        'gone. Give this endpoint a path no other http in node uses.',
    );
  }
  if (body.length > maxBytes) throw tooLarge(body.length, maxBytes, true);
  return body;
}

/**
 * `size` is exact when the body was read to its end or declared in Content-Length. When reading stopped part-way
 * (`moreThan`, the drain limit) only a lower bound is known, and the answer must not claim the body had only the
 * bytes read so far.
 */
function tooLarge(size: number, maxBytes: number, drained: boolean, moreThan?: number): FinanceError {
  const has = moreThan === undefined ? `has ${size} bytes` : `has more than ${moreThan} bytes`;
  return new FinanceError(
    'PAYLOAD_TOO_LARGE',
    `The body ${has}; this endpoint accepts at most ${maxBytes}. Send one event per request.`,
    { details: { size, maxBytes, drained, ...(moreThan === undefined ? {} : { sizeIsLowerBound: true }) } },
  );
}
