/**
 * Credentials that reach free text without the connection's secret list to find them: a dead letter, msg.failure
 * and the audit trail scrub texts with redactText(text, []), so the text's own syntax must give them away.
 */
import { REDACTED, redactText, redactValue } from '../../../lib/erp/redact';

describe('redactText without a secret list', () => {
  it('removes the user name and password of a URL', () => {
    const text = 'connect ECONNREFUSED for https://ann:s3cr3t-pw@erp.example.com/api and postgres://u:pgpw@db/x';
    const redacted = redactText(text, []);
    expect(redacted).not.toContain('s3cr3t-pw');
    expect(redacted).not.toContain('pgpw');
    expect(redacted).toBe(
      `connect ECONNREFUSED for https://${REDACTED}@erp.example.com/api and postgres://${REDACTED}@db/x`,
    );
  });

  it('removes the values of secret-looking query parameters and keeps the others', () => {
    const text = 'GET https://erp/x?access_token=abc123&page=2&api_key=k999&sig=zz%2B1 failed';
    expect(redactText(text, [])).toBe(
      `GET https://erp/x?access_token=${REDACTED}&page=2&api_key=${REDACTED}&sig=${REDACTED} failed`,
    );
  });

  it('removes credentials after an Authorization header name, whatever the scheme and its case', () => {
    expect(redactText('echo: Authorization: token key1:sec2, ok', [])).toBe(
      `echo: Authorization: token ${REDACTED}, ok`,
    );
    expect(redactText('{"authorization":"bearer eyJhbGci.x.y"}', [])).toBe(`{"authorization":"bearer ${REDACTED}"}`);
    expect(redactText('authorization=Key12345', [])).toBe(`authorization=${REDACTED}`);
  });

  it("removes ERPNext's token <api_key>:<api_secret> from free text", () => {
    const redacted = redactText('rejected token 4f9a1c2b3d4e5f6:9z8y7x6w5v4u3t2 for user', []);
    expect(redacted).not.toContain('9z8y7x6w5v4u3t2');
    expect(redacted).toBe(`rejected token ${REDACTED} for user`);
  });

  it('removes a JSON Web Token and a PEM private key, wherever they appear', () => {
    const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbm4ifQ.c2lnbmF0dXJl';
    expect(redactText(`session ${jwt} expired`, [])).toBe(`session ${REDACTED} expired`);
    const pem = '-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\n-----END RSA PRIVATE KEY-----';
    expect(redactText(`key: ${pem} (rotated)`, [])).toBe(`key: ${REDACTED} (rotated)`);
    // A block cut short (a truncated error body) goes to the end of the text.
    expect(redactText('-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg', [])).toBe(REDACTED);
  });

  it('leaves ordinary texts alone', () => {
    for (const text of [
      'ER-1001',
      'the token endpoint answered 400',
      'a@b.example',
      'x=1&y=2',
      'see https://erp/x?page=2',
      'eyJ is how base64 of {" begins',
      '-----BEGIN PUBLIC KEY-----',
    ]) {
      expect(redactText(text, [])).toBe(text);
    }
    expect(redactValue({ note: 'mailto:ann@example.com' }, [])).toEqual({ note: 'mailto:ann@example.com' });
  });
});
