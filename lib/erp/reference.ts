/**
 * External references in ERP fields that are shorter than the pack's references
 * (`source:docType:docId:version`, often 40+ characters): Business Central's documentNumber (20) and
 * externalDocumentNumber / vendorInvoiceNumber / "Your Reference" (35), SAP's CorrespncExternalReference (12).
 * A reference that fits is sent as it is (`upperCase` only for a field the ERP keeps in upper case, such as SAP's
 * supplier invoice Reference); a longer one becomes "FS" + a SHA-256 digest of the reference as given, in base 32
 * (upper case, so a field that upper-cases keeps it), deterministic so the lookup before a create finds what an
 * earlier attempt wrote.
 * Collision odds: 12 characters keep 50 bits (one in 10^6 at 45,000 documents); 20 keep 90 bits.
 */
import { createHash } from 'node:crypto';

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

function base32(bytes: Buffer): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return out;
}

export function fitReference(reference: string, maxLength: number, options: { upperCase?: boolean } = {}): string {
  const text = options.upperCase ? reference.toUpperCase() : reference;
  if (text.length <= maxLength) return text;
  if (maxLength < 8) throw new Error(`a reference field of ${maxLength} characters is too short to hold a digest`);
  return `FS${base32(createHash('sha256').update(reference).digest()).slice(0, maxLength - 2)}`;
}
