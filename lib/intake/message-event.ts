/**
 * An event handed over by an upstream node (core `http in`, `mqtt in`, a function node) as an intake event:
 * the body bytes from msg.payload and the headers from msg.headers or msg.req.headers.
 */
import { FinanceError } from '../errors';
import type { HeaderMap } from '../sources/headers';
import type { SignatureScheme } from '../sources/signatures';
import type { IncomingEvent } from './intake';

export interface EventMessage {
  payload?: unknown;
  headers?: unknown;
  req?: { headers?: unknown };
}

/**
 * A Buffer is used as it is and a string as its UTF-8 bytes. An object (core `http in` without "raw body"
 * parses JSON) is serialised again, which loses the exact bytes a signature covers: that only works with
 * the scheme "none", so any other scheme gets a CONFIG_INVALID that says how to fix the flow.
 */
export function eventFromMessage(msg: EventMessage, scheme: SignatureScheme): IncomingEvent {
  return { rawBody: bodyOf(msg.payload, scheme), headers: headersOf(msg) };
}

function bodyOf(payload: unknown, scheme: SignatureScheme): Buffer {
  if (Buffer.isBuffer(payload)) return payload;
  if (typeof payload === 'string') return Buffer.from(payload, 'utf8');
  if (payload === undefined || payload === null) return Buffer.alloc(0);
  if (typeof payload === 'object' && scheme !== 'none') {
    throw new FinanceError(
      'CONFIG_INVALID',
      `msg.payload is an already parsed object, so the bytes the "${scheme}" signature covers are gone. Deliver ` +
        'the raw body (core http in: tick "Do not parse request body"; mqtt in: output "a Buffer"), or use the scheme ' +
        '"none" behind a trusted upstream.',
    );
  }
  return Buffer.from(JSON.stringify(payload), 'utf8');
}

function headersOf(msg: EventMessage): HeaderMap {
  if (isObject(msg.headers)) return msg.headers as HeaderMap;
  if (isObject(msg.req) && isObject(msg.req.headers)) return msg.req.headers as HeaderMap;
  return {};
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
