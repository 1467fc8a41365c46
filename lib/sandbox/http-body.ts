/**
 * Reading request bodies safely: a size limit, strict JSON, and no prototype-polluting keys. Every refusal is a
 * problem the server answers with, never an exception that escapes.
 */
import type { IncomingMessage } from 'node:http';
import { SandboxProblem } from './problem';

export const MAX_BODY_BYTES = 1024 * 1024;

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * The raw body. Past the limit the rest is read and dropped before answering 413: answering while the client
 * is still sending makes many clients see a reset instead of the answer.
 */
export function readRawBody(request: IncomingMessage, limit = MAX_BODY_BYTES): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
    });
    request.on('end', () => {
      if (size > limit) {
        reject(
          new SandboxProblem(
            413,
            'PAYLOAD_TOO_LARGE',
            `The body has ${size} bytes; the limit is ${limit}. Send fewer lines per document.`,
            { headers: { Connection: 'close' } },
          ),
        );
      } else {
        resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks));
      }
    });
    request.on('error', reject);
  });
}

/** Refuses a body that is not sent as JSON (a missing Content-Type is accepted). */
export function checkJsonContentType(contentType: string | undefined): void {
  if (contentType === undefined) return;
  const mediaType = contentType.split(';')[0].trim().toLowerCase();
  if (mediaType === 'application/json' || mediaType.endsWith('+json')) return;
  throw new SandboxProblem(
    415,
    'UNSUPPORTED_MEDIA_TYPE',
    `The body is sent as "${mediaType}"; send JSON with Content-Type: application/json.`,
  );
}

/** Parses a JSON body; an empty body is `undefined`. */
export function parseJsonBody(raw: Buffer): unknown {
  if (raw.length === 0) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(raw.toString('utf8'));
  } catch (error) {
    throw new SandboxProblem(
      400,
      'INVALID_JSON',
      `The body is not valid JSON (${(error as Error).message}). Send a JSON object.`,
    );
  }
  const forbidden = findForbiddenKey(value, '');
  if (forbidden !== undefined) {
    throw new SandboxProblem(
      400,
      'FORBIDDEN_KEY',
      `The body contains the key "${forbidden.split('/').pop()}" at ${forbidden}, which is refused because it ` +
        'can alter object prototypes. Rename or remove it.',
      { errors: [{ path: forbidden, message: 'is a forbidden key', code: 'FORBIDDEN_KEY' }] },
    );
  }
  return value;
}

/** The JSON pointer of the first `__proto__`, `constructor` or `prototype` key, anywhere in the value. */
function findForbiddenKey(value: unknown, path: string): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  for (const key of Object.keys(value)) {
    const where = `${path}/${key}`;
    if (FORBIDDEN_KEYS.has(key)) return where;
    const found = findForbiddenKey((value as Record<string, unknown>)[key], where);
    if (found !== undefined) return found;
  }
  return undefined;
}
