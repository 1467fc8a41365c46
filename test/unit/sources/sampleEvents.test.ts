import { demoSeed } from '../../../lib/sandbox/seed';
import { PROFILE_NAMES, getProfile, isProfileName } from '../../../lib/sources/profiles';
import {
  DEFAULT_SAMPLE_IDS,
  sampleEvent,
  sampleEvents,
  sampleProfileOptions,
  type SampleEvent,
} from '../../../lib/sources/sampleEvents';
import { verifySignature } from '../../../lib/sources/signatures';
import { sum } from '../../../lib/model/money';
import { financeErrorOf } from './helpers';

const NOW_MS = Date.parse('2026-11-27T12:00:00Z');
const now = () => NOW_MS;
const SECRET = 'sample-secret-for-tests';

describe('the profile registry', () => {
  it('lists and builds every profile by name', () => {
    expect(PROFILE_NAMES).toEqual(['cloudevents', 'concur', 'ramp', 'coupa']);
    for (const name of PROFILE_NAMES) {
      expect(getProfile(name).name).toBe(name);
      expect(isProfileName(name)).toBe(true);
    }
    expect(isProfileName('brex')).toBe(false);
  });

  it('passes options to the profile and reports an unknown name as a configuration error', () => {
    expect(financeErrorOf(() => getProfile('concur', { costCenterField: 1 as unknown as string })).code).toBe(
      'CONFIG_INVALID',
    );
    const error = financeErrorOf(() => getProfile('brex'));
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toBe('Unknown source profile "brex". Choose one of: cloudevents, concur, ramp, coupa.');
  });
});

/** Sample events are expense reports; Coupa sends requisitions and has no sample generator. */
const SAMPLE_PROFILES = ['cloudevents', 'concur', 'ramp'] as const;

describe('sample events', () => {
  const bytesOf = (event: SampleEvent) => event.rawBody.toString('utf8');

  it.each(SAMPLE_PROFILES)('are deterministic for a seed and a clock (%s)', (profile) => {
    const first = sampleEvent({ profile, seed: 11, secret: SECRET, now });
    const again = sampleEvent({ profile, seed: 11, secret: SECRET, now });
    const other = sampleEvent({ profile, seed: 12, secret: SECRET, now });
    expect(bytesOf(again)).toBe(bytesOf(first));
    expect(again.headers).toEqual(first.headers);
    expect(again.expected).toEqual(first.expected);
    expect(bytesOf(other)).not.toBe(bytesOf(first));
    expect(JSON.parse(bytesOf(first))).toEqual(first.body);
  });

  it.each(SAMPLE_PROFILES)('pass signature verification and the profile envelope (%s)', (profile) => {
    for (const event of sampleEvents(5, { profile, seed: 100, secret: SECRET, now })) {
      expect(() =>
        verifySignature(event.scheme, { headers: event.headers, rawBody: event.rawBody, secrets: [SECRET] }, { now }),
      ).not.toThrow();
      const facts = getProfile(profile).envelopeOf(JSON.parse(bytesOf(event)));
      expect(facts.docType).toBe('ExpenseReport');
      expect(facts.docId).toBe(profile === 'cloudevents' ? event.expected.reportId : facts.subject);
      expect(facts.time).toBe(new Date(NOW_MS).toISOString());
    }
  });

  it('is rejected when the secret is wrong', () => {
    const event = sampleEvent({ seed: 1, secret: SECRET, now });
    const error = financeErrorOf(() =>
      verifySignature(event.scheme, { headers: event.headers, rawBody: event.rawBody, secrets: ['other'] }, { now }),
    );
    expect(error.code).toBe('SIGNATURE_INVALID');
  });

  it('can be signed with another scheme', () => {
    const secret = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
    const event = sampleEvent({ seed: 3, secret, scheme: 'standard-webhooks', now });
    expect(event.headers['webhook-id']).toBe(event.body.id);
    expect(() =>
      verifySignature(
        'standard-webhooks',
        { headers: event.headers, rawBody: event.rawBody, secrets: [secret] },
        { now },
      ),
    ).not.toThrow();
    expect(sampleEvent({ seed: 3, scheme: 'none', now }).headers).toEqual({
      'Content-Type': 'application/cloudevents+json',
    });
  });

  it('carry a CloudEvent whose data is the expected canonical report', () => {
    const event = sampleEvent({ seed: 5, secret: SECRET, now });
    expect(event.body).toMatchObject({ specversion: '1.0', datacontenttype: 'application/json' });
    expect(getProfile('cloudevents').toCanonical(event.body)).toEqual(event.expected);
    expect(event.fetched).toBeUndefined();
  });

  it.each(['concur', 'ramp'] as const)('come with the %s document the event announces', (profile) => {
    const event = sampleEvent({ profile, seed: 9, secret: SECRET, now });
    const mapped = getProfile(profile, sampleProfileOptions()).toCanonical(event.fetched!.document, {
      lines: event.fetched!.lines,
    });
    expect(mapped).toEqual(event.expected);
    expect(event.expected.reportId).toBe(getProfile(profile).envelopeOf(event.body).docId);
  });

  it.each(SAMPLE_PROFILES)('use only the configured master-data ids (%s)', (profile) => {
    const ids = {
      employees: ['EMP-A', 'EMP-B'],
      costCenters: ['CC-X'],
      glAccounts: ['4000', '4100'],
      projects: ['PRJ-9'],
      company: 'ACME-DE',
      currency: 'JPY',
    };
    for (const event of sampleEvents(10, { profile, seed: 1, secret: SECRET, now, ids })) {
      const report = event.expected;
      expect(ids.employees).toContain(report.employeeId);
      expect(report.total.currency).toBe('JPY');
      expect(report.total).toEqual(sum(report.lines.map((line) => line.amount)));
      for (const line of report.lines) {
        expect(line.amount.amount).toMatch(/^\d+$/);
        expect(line.dimensions.costCenter).toBe('CC-X');
        expect(ids.glAccounts).toContain(line.dimensions.glAccount);
        if (line.dimensions.project !== undefined) expect(line.dimensions.project).toBe('PRJ-9');
      }
    }
  });

  it('default to ids that exist in the sandbox ERP demo company', () => {
    const demo = demoSeed(new Date(now())).find((company) => company.company.id === 'FS-DEMO')!;
    const idsOf = (records: Array<{ id: string }>) => records.map((record) => record.id);
    expect(idsOf(demo.master.employees)).toEqual(expect.arrayContaining([...DEFAULT_SAMPLE_IDS.employees]));
    expect(idsOf(demo.master.costCenters)).toEqual(expect.arrayContaining([...DEFAULT_SAMPLE_IDS.costCenters]));
    expect(idsOf(demo.master.glAccounts)).toEqual(expect.arrayContaining([...DEFAULT_SAMPLE_IDS.glAccounts]));
    expect(idsOf(demo.master.projects)).toEqual(expect.arrayContaining([...DEFAULT_SAMPLE_IDS.projects]));
    const reports = sampleEvents(40, { seed: 1, secret: SECRET, now }).map((event) => event.expected);
    expect(new Set(reports.map((report) => report.reportId)).size).toBe(40);
    expect(new Set(reports.map((report) => report.employeeId)).size).toBeGreaterThan(5);
  });

  it('refuse to sign without a secret and reject empty id lists', () => {
    expect(financeErrorOf(() => sampleEvent({ seed: 1, now })).code).toBe('CONFIG_INVALID');
    expect(financeErrorOf(() => sampleEvent({ seed: 1, secret: SECRET, now, ids: { projects: [] } })).code).toBe(
      'CONFIG_INVALID',
    );
    expect(financeErrorOf(() => sampleEvent({ seed: 1, secret: SECRET, now, ids: { currency: 'EURO' } })).code).toBe(
      'UNKNOWN_CURRENCY',
    );
  });
});
