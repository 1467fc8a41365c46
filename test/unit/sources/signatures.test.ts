import { createHmac } from 'crypto';
import {
  DEFAULT_TOLERANCE_SECONDS,
  signPayload,
  verifySignature,
  type SignatureScheme,
  type SignedRequest,
} from '../../../lib/sources/signatures';
import { financeErrorOf } from './helpers';

const NOW_MS = 1_795_780_800_000; // 2026-11-27T12:00:00Z
const NOW_S = NOW_MS / 1000;
const now = () => NOW_MS;
const body = Buffer.from('{"id":"evt-1","type":"expense.submitted","amount":"12.30"}', 'utf8');

/** Secrets per scheme: Standard Webhooks secrets are base64 keys, the others plain strings. */
const SECRETS: Record<Exclude<SignatureScheme, 'none'>, { current: string; previous: string; wrong: string }> = {
  ramp: { current: 'ramp_sec_current-0123456789', previous: 'ramp_sec_previous-9876543210', wrong: 'ramp_sec_wrong' },
  'standard-webhooks': {
    current: `whsec_${Buffer.alloc(24, 1).toString('base64')}`,
    previous: `whsec_${Buffer.alloc(24, 2).toString('base64')}`,
    wrong: `whsec_${Buffer.alloc(24, 3).toString('base64')}`,
  },
  generic: { current: 'finance-current-secret', previous: 'finance-previous-secret', wrong: 'finance-wrong-secret' },
};

const SIGNED_SCHEMES = ['ramp', 'standard-webhooks', 'generic'] as const;
const TIMESTAMPED_SCHEMES = ['standard-webhooks', 'generic'] as const;

function signed(
  scheme: (typeof SIGNED_SCHEMES)[number],
  options: { secret?: string; timestamp?: number; rawBody?: Buffer } = {},
): Record<string, string> {
  return signPayload(scheme, options.rawBody ?? body, options.secret ?? SECRETS[scheme].current, {
    timestamp: options.timestamp ?? NOW_S,
    id: 'msg_2Kx7',
  });
}

function verify(scheme: SignatureScheme, request: Partial<SignedRequest>, toleranceSeconds?: number): void {
  verifySignature(
    scheme,
    {
      headers: request.headers ?? {},
      rawBody: request.rawBody ?? body,
      secrets: request.secrets ?? [scheme === 'none' ? '' : SECRETS[scheme].current],
    },
    { now, toleranceSeconds },
  );
}

function rejection(scheme: SignatureScheme, request: Partial<SignedRequest>, toleranceSeconds?: number) {
  const error = financeErrorOf(() => verify(scheme, request, toleranceSeconds));
  expect(error.code).toBe('SIGNATURE_INVALID');
  return error;
}

describe.each(SIGNED_SCHEMES)('the %s scheme', (scheme) => {
  const secret = SECRETS[scheme];

  it('accepts a request signed with the configured secret', () => {
    expect(() => verify(scheme, { headers: signed(scheme) })).not.toThrow();
  });

  it('rejects a signature made with another secret', () => {
    const error = rejection(scheme, { headers: signed(scheme, { secret: secret.wrong }) });
    expect(error.details).toMatchObject({ scheme, reason: 'no_match' });
    expect(error.message).toMatch(/no signature matched/);
  });

  it('rejects a body changed by one byte after signing', () => {
    const altered = Buffer.from(body);
    altered[altered.length - 3] ^= 0x01;
    const error = rejection(scheme, { headers: signed(scheme), rawBody: altered });
    expect(error.details).toMatchObject({ reason: 'no_match' });
  });

  it('accepts the second secret during a rotation and rejects when neither secret matches', () => {
    const headers = signed(scheme, { secret: secret.previous });
    expect(() => verify(scheme, { headers, secrets: [secret.current, secret.previous] })).not.toThrow();
    rejection(scheme, { headers, secrets: [secret.current, secret.wrong] });
  });

  it('finds headers whatever their case, surrounding whitespace or array form', () => {
    const variants = [
      (name: string) => name.toLowerCase(),
      (name: string) => name.toUpperCase(),
      (name: string) => `  ${name}\t`,
    ];
    for (const variant of variants) {
      const headers = Object.fromEntries(Object.entries(signed(scheme)).map(([name, value]) => [variant(name), value]));
      expect(() => verify(scheme, { headers })).not.toThrow();
    }
    const asArrays = Object.fromEntries(Object.entries(signed(scheme)).map(([name, value]) => [name, [` ${value} `]]));
    expect(() => verify(scheme, { headers: asArrays })).not.toThrow();
  });

  it('names each missing header', () => {
    const headers = signed(scheme);
    for (const name of Object.keys(headers)) {
      const without = { ...headers };
      delete without[name];
      const error = rejection(scheme, { headers: without });
      expect(error.details).toMatchObject({ reason: 'missing_header', header: name });
      expect(error.message).toContain(`${name} header is missing`);
    }
    expect(rejection(scheme, { headers: {} }).details).toMatchObject({ reason: 'missing_header' });
  });

  it('rejects a header sent twice in different spellings', () => {
    const headers = signed(scheme);
    const [name, value] = Object.entries(headers).find(([key]) => key !== 'webhook-signature')!;
    const error = rejection(scheme, { headers: { ...headers, [name.toUpperCase()]: value } });
    expect(error.details).toMatchObject({ reason: 'malformed_header' });
    expect(error.message).toMatch(/sent 2 times/);
  });

  it('never puts a secret or a signature into the error', () => {
    const good = signed(scheme);
    const error = rejection(scheme, { headers: signed(scheme, { secret: secret.wrong }) });
    const text = JSON.stringify(error.toJSON());
    for (const value of [secret.current, secret.wrong, ...Object.values(good)]) {
      if (/^\d+$/.test(value) || value === 'msg_2Kx7') continue; // timestamps and ids are not secret
      expect(text).not.toContain(value);
      expect(text).not.toContain(value.replace(/^(sha256=|v1,)/, ''));
    }
  });

  it('refuses to run without a secret or without the raw bytes', () => {
    expect(financeErrorOf(() => verify(scheme, { headers: signed(scheme), secrets: [] })).code).toBe('CONFIG_INVALID');
    expect(financeErrorOf(() => verify(scheme, { headers: signed(scheme), secrets: [''] })).code).toBe(
      'CONFIG_INVALID',
    );
    const parsed = JSON.parse(body.toString()) as unknown as Buffer;
    const error = financeErrorOf(() => verify(scheme, { headers: signed(scheme), rawBody: parsed }));
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toMatch(/raw request body as a Buffer/);
  });
});

describe.each(TIMESTAMPED_SCHEMES)('the timestamp of the %s scheme', (scheme) => {
  const tolerance = DEFAULT_TOLERANCE_SECONDS;

  it('is accepted up to exactly five minutes either way', () => {
    expect(() => verify(scheme, { headers: signed(scheme, { timestamp: NOW_S - tolerance }) })).not.toThrow();
    expect(() => verify(scheme, { headers: signed(scheme, { timestamp: NOW_S + tolerance }) })).not.toThrow();
  });

  it('is rejected when more than five minutes old, saying by how much', () => {
    const error = rejection(scheme, { headers: signed(scheme, { timestamp: NOW_S - tolerance - 42 }) });
    expect(error.details).toMatchObject({ reason: 'stale_timestamp', skewSeconds: -(tolerance + 42) });
    expect(error.message).toContain(`${tolerance + 42} s old, 42 s beyond the ${tolerance} s tolerance`);
  });

  it('is rejected when more than five minutes in the future, saying by how much', () => {
    const error = rejection(scheme, { headers: signed(scheme, { timestamp: NOW_S + tolerance + 7 }) });
    expect(error.details).toMatchObject({ reason: 'future_timestamp', skewSeconds: tolerance + 7 });
    expect(error.message).toContain(`${tolerance + 7} s in the future, 7 s beyond`);
  });

  it('uses a configured tolerance', () => {
    const headers = signed(scheme, { timestamp: NOW_S - 61 });
    expect(() => verify(scheme, { headers })).not.toThrow();
    expect(rejection(scheme, { headers }, 60).details).toMatchObject({ reason: 'stale_timestamp' });
    expect(financeErrorOf(() => verify(scheme, { headers }, 0)).code).toBe('CONFIG_INVALID');
  });

  it('is rejected when it is not whole unix seconds', () => {
    const headers = signed(scheme);
    const name = Object.keys(headers).find((key) => /timestamp/i.test(key))!;
    for (const bad of ['2026-11-27T12:00:00Z', '1795780800.5', '-1795780800', 'abc']) {
      const error = rejection(scheme, { headers: { ...headers, [name]: bad } });
      expect(error.details).toMatchObject({ reason: 'malformed_header', header: name });
    }
  });

  it('is covered by the signature, so moving it invalidates the request', () => {
    const headers = signed(scheme);
    const name = Object.keys(headers).find((key) => /timestamp/i.test(key))!;
    const error = rejection(scheme, { headers: { ...headers, [name]: String(NOW_S - 1) } });
    expect(error.details).toMatchObject({ reason: 'no_match' });
  });

  describe('with acceptOldTimestamps (an event a broker kept while the node was stopped)', () => {
    const verifyOld = (headers: Record<string, string>, secrets = [SECRETS[scheme].current]) =>
      verifySignature(scheme, { headers, rawBody: body, secrets }, { now, acceptOldTimestamps: true });

    it('accepts a timestamp older than the tolerance and returns it', () => {
      const timestamp = NOW_S - 6 * 60 * 60;
      expect(verifyOld(signed(scheme, { timestamp }))).toEqual({ signedAt: timestamp });
      // Without the option the same request is stale.
      rejection(scheme, { headers: signed(scheme, { timestamp }) });
    });

    it('still checks the HMAC over the timestamp, its form and a timestamp in the future', () => {
      const headers = signed(scheme, { timestamp: NOW_S - 3600 });
      const name = Object.keys(headers).find((key) => /timestamp/i.test(key))!;
      const moved = financeErrorOf(() => verifyOld({ ...headers, [name]: String(NOW_S - 3599) }));
      expect(moved.details).toMatchObject({ reason: 'no_match' });
      const forged = financeErrorOf(() => verifyOld(headers, [SECRETS[scheme].wrong]));
      expect(forged.details).toMatchObject({ reason: 'no_match' });
      const malformed = financeErrorOf(() => verifyOld({ ...headers, [name]: 'yesterday' }));
      expect(malformed.details).toMatchObject({ reason: 'malformed_header' });
      const future = financeErrorOf(() => verifyOld(signed(scheme, { timestamp: NOW_S + 3600 })));
      expect(future.details).toMatchObject({ reason: 'future_timestamp' });
    });
  });
});

describe('the ramp scheme specifically', () => {
  it('signs the hex HMAC-SHA256 of the raw body, as Ramp documents', () => {
    const expected = createHmac('sha256', SECRETS.ramp.current).update(body).digest('hex');
    expect(signed('ramp')).toEqual({ 'X-Ramp-Webhook-Signature': expected });
    expect(() => verify('ramp', { headers: { 'x-ramp-webhook-signature': expected.toUpperCase() } })).not.toThrow();
  });

  it('rejects a signature that is not 64 hex characters', () => {
    for (const bad of ['abc', 'sha256=' + 'a'.repeat(64), 'z'.repeat(64), 'a'.repeat(63)]) {
      const error = rejection('ramp', { headers: { 'X-Ramp-Webhook-Signature': bad } });
      expect(error.details).toMatchObject({ reason: 'malformed_header' });
      expect(error.message).toMatch(/64 hexadecimal characters/);
    }
  });
});

describe('the standard-webhooks scheme specifically', () => {
  it('matches the Standard Webhooks reference test vector', () => {
    const rawBody = Buffer.from('{"test": 2432232314}');
    const headers = {
      'webhook-id': 'msg_p5jXN8AQM9LWM0D4loKWxJek',
      'webhook-timestamp': '1614265330',
      'webhook-signature': 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
    };
    const secrets = ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'];
    expect(() =>
      verifySignature('standard-webhooks', { headers, rawBody, secrets }, { now: () => 1614265330_000 }),
    ).not.toThrow();
    expect(
      signPayload('standard-webhooks', rawBody, secrets[0], { id: headers['webhook-id'], timestamp: 1614265330 }),
    ).toEqual(headers);
  });

  it('accepts a secret without the whsec_ prefix', () => {
    const headers = signed('standard-webhooks');
    const bare = SECRETS['standard-webhooks'].current.slice('whsec_'.length);
    expect(() => verify('standard-webhooks', { headers, secrets: [bare] })).not.toThrow();
  });

  it('accepts when any of several signatures matches, skipping other versions', () => {
    const headers = signed('standard-webhooks');
    const good = headers['webhook-signature'];
    const forged = signed('standard-webhooks', { secret: SECRETS['standard-webhooks'].wrong })['webhook-signature'];
    const list = `v1a,bm90LWVkMjU1MTk= ${forged}  ${good}`;
    expect(() => verify('standard-webhooks', { headers: { ...headers, 'webhook-signature': list } })).not.toThrow();
    const bothForged = `${forged} v1,${Buffer.alloc(32).toString('base64')}`;
    rejection('standard-webhooks', { headers: { ...headers, 'webhook-signature': bothForged } });
  });

  it('reads signatures spread over repeated headers', () => {
    const headers = signed('standard-webhooks');
    const forged = signed('standard-webhooks', { secret: SECRETS['standard-webhooks'].wrong })['webhook-signature'];
    const repeated = { ...headers, 'webhook-signature': [forged, headers['webhook-signature']] };
    expect(() => verify('standard-webhooks', { headers: repeated })).not.toThrow();
  });

  it('reads a repeated header as Node joins it ("v1,A, v1,B"), whichever entry matches', () => {
    const headers = signed('standard-webhooks');
    const good = headers['webhook-signature'];
    const forged = signed('standard-webhooks', { secret: SECRETS['standard-webhooks'].wrong })['webhook-signature'];
    for (const joined of [`${good}, ${forged}`, `${forged}, ${good}`, `${good},${forged}`, `${forged},${good}`]) {
      expect(() => verify('standard-webhooks', { headers: { ...headers, 'webhook-signature': joined } })).not.toThrow();
    }
    expect(() =>
      verify('standard-webhooks', { headers: { ...headers, 'webhook-signature': `v1a,bm90LWVkMjU1MTk=, ${good}` } }),
    ).not.toThrow();
    const bothForged = `${forged}, v1,${Buffer.alloc(32).toString('base64')}`;
    rejection('standard-webhooks', { headers: { ...headers, 'webhook-signature': bothForged } });
  });

  it('rejects a signature header without any v1 signature', () => {
    const headers = signed('standard-webhooks');
    for (const bad of ['v2,abcd', 'g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=', 'v1,', 'v1,not base64!']) {
      const error = rejection('standard-webhooks', { headers: { ...headers, 'webhook-signature': bad } });
      expect(error.details).toMatchObject({ reason: 'malformed_header', header: 'webhook-signature' });
    }
  });

  it('covers the message id, so a different id invalidates the request', () => {
    const headers = signed('standard-webhooks');
    const error = rejection('standard-webhooks', { headers: { ...headers, 'webhook-id': 'msg_other' } });
    expect(error.details).toMatchObject({ reason: 'no_match' });
  });

  it('reports a secret that is not base64 as a configuration error without showing it', () => {
    const error = financeErrorOf(() =>
      verify('standard-webhooks', { headers: signed('standard-webhooks'), secrets: ['whsec_not base64!'] }),
    );
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toContain('#1');
    expect(error.message).not.toContain('not base64!');
  });
});

describe('the generic scheme specifically', () => {
  it('signs "sha256=" + hex HMAC-SHA256 of "<timestamp>.<body>"', () => {
    const content = Buffer.concat([Buffer.from(`${NOW_S}.`), body]);
    const expected = createHmac('sha256', SECRETS.generic.current).update(content).digest('hex');
    expect(signed('generic')).toEqual({
      'X-Finance-Timestamp': String(NOW_S),
      'X-Finance-Signature': `sha256=${expected}`,
    });
  });

  it('rejects a signature without the sha256= prefix or with a short digest', () => {
    const headers = signed('generic');
    const hex = headers['X-Finance-Signature'].slice('sha256='.length);
    for (const bad of [hex, `sha1=${hex}`, `sha256=${hex.slice(2)}`]) {
      const error = rejection('generic', { headers: { ...headers, 'X-Finance-Signature': bad } });
      expect(error.details).toMatchObject({ reason: 'malformed_header', header: 'X-Finance-Signature' });
    }
  });
});

describe('scheme handling', () => {
  it('lets everything through with "none", for trusted upstream nodes', () => {
    expect(() => verify('none', { headers: {}, secrets: [] })).not.toThrow();
    expect(signPayload('none', body, 'unused')).toEqual({});
  });

  it('reports an unknown scheme as a configuration error', () => {
    const error = financeErrorOf(() => verify('hmac-md5' as SignatureScheme, { headers: {}, secrets: ['x'] }));
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toMatch(/ramp, standard-webhooks, generic, none/);
    expect(financeErrorOf(() => signPayload('hmac-md5' as SignatureScheme, body, 'x')).code).toBe('CONFIG_INVALID');
  });
});
