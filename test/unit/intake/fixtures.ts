/** Shared set-up for the intake tests: real LMDB stores in a temporary directory and signed events. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Intake, type IncomingEvent, type IntakeOptions } from '../../../lib/intake/intake';
import { openStore, type FinanceStore, type OpenStoreOptions } from '../../../lib/reliability/store';
import { getProfile, type ProfileName } from '../../../lib/sources/profiles';
import { sampleEvent, sampleProfileOptions } from '../../../lib/sources/sampleEvents';
import { signPayload, type SignatureScheme } from '../../../lib/sources/signatures';

export const NOW_MS = Date.parse('2026-11-27T12:00:00Z');
export const now = (): number => NOW_MS;
export const SECRET = 'intake-test-secret';

/** Temporary store directories; `cleanup()` closes every store opened and removes them. */
export function storeSandbox(name: string) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), `finance-intake-${name}-`));
  const opened: FinanceStore[] = [];
  let counter = 0;
  return {
    open(options: Partial<OpenStoreOptions> = {}): FinanceStore {
      const store = openStore({ path: path.join(root, `db-${++counter}`), ...options });
      opened.push(store);
      return store;
    },
    async cleanup(): Promise<void> {
      await Promise.all(opened.map((store) => store.close()));
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}

export function intakeFor(store: FinanceStore, options: Partial<IntakeOptions> & { profileName?: ProfileName } = {}) {
  const profile = getProfile(options.profileName ?? 'cloudevents', sampleProfileOptions());
  return new Intake({
    store: () => store,
    profile,
    signatureScheme: profile.signatureScheme,
    secrets: [SECRET],
    maxBytes: 1024 * 1024,
    now,
    newCorrelationId: () => 'generated-correlation-id',
    ...options,
  });
}

/** A sample event of the profile, signed with the test secret at NOW_MS. */
export function sample(
  seed: number,
  profile: ProfileName = 'cloudevents',
  extra: { secret?: string } = {},
): IncomingEvent {
  const event = sampleEvent({ profile, seed, secret: extra.secret ?? SECRET, now });
  return { rawBody: event.rawBody, headers: event.headers };
}

/** `body` (an object or exact text) signed with the profile's scheme, as a sender would send it. */
export function signed(
  body: unknown,
  options: { scheme?: SignatureScheme; secret?: string; at?: number; headers?: Record<string, string> } = {},
): IncomingEvent {
  const rawBody = Buffer.from(typeof body === 'string' ? body : JSON.stringify(body), 'utf8');
  const headers = signPayload(options.scheme ?? 'generic', rawBody, options.secret ?? SECRET, {
    timestamp: Math.floor((options.at ?? NOW_MS) / 1000),
  });
  return { rawBody, headers: { 'Content-Type': 'application/cloudevents+json', ...headers, ...options.headers } };
}

/** The body of a CloudEvents sample, as an object a test may change before signing it. */
export function sampleBody(seed: number): Record<string, any> {
  return JSON.parse(sampleEvent({ seed, secret: SECRET, now }).rawBody.toString('utf8'));
}
