/**
 * The external reference an ERP document carries so that it can be found again (DESIGN section 7): every
 * create is preceded, after any doubt, by a lookup on it. It must be the same for every attempt, host and
 * replay of one source document, so it is derived from the document's identity in its source only. The
 * version is left out on purpose: a later revision of a report that was already posted must find the
 * posting, not create a second one.
 */
import { createHash } from 'node:crypto';
import { FinanceError } from '../errors';
import type { SourceRef } from '../model/types';

/** What the sandbox ERP accepts; dialects with a shorter field pass their own limit. */
export const DEFAULT_EXTERNAL_REFERENCE_LENGTH = 100;

/** Characters of the hash that stands in for a reference too long for the ERP (22 base64url = 132 bits). */
const HASH_LENGTH = 22;

/**
 * `${system}:${id}` when it fits in `maxLength`; otherwise its readable start, `~` and a hash of the whole,
 * or only the (shortened) hash when the limit leaves no room for a readable part (SAP allows 12 characters).
 */
export function externalReferenceFor(
  sourceRef: Pick<SourceRef, 'system' | 'id'>,
  maxLength = DEFAULT_EXTERNAL_REFERENCE_LENGTH,
): string {
  if (!Number.isInteger(maxLength) || maxLength < 8) {
    throw new FinanceError(
      'CONFIG_INVALID',
      `An external reference needs room for at least 8 characters to stay unique; the limit given is ${maxLength}.`,
    );
  }
  const plain = `${sourceRef.system}:${sourceRef.id}`;
  if (plain.length <= maxLength) return plain;
  const hash = createHash('sha256').update(plain).digest('base64url');
  if (maxLength <= HASH_LENGTH + 1) return hash.slice(0, maxLength);
  return `${plain.slice(0, maxLength - HASH_LENGTH - 1)}~${hash.slice(0, HASH_LENGTH)}`;
}
