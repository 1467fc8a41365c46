import { inboxKey, type FinanceStore } from '../../../lib/reliability/store';
import { sampleEvent } from '../../../lib/sources/sampleEvents';
import { signPayload } from '../../../lib/sources/signatures';
import { closingRefusal, type IntakeResult } from '../../../lib/intake/intake';
import { intakeFor, now, NOW_MS, sample, sampleBody, SECRET, signed, storeSandbox } from './fixtures';

function expectRejected(result: IntakeResult, status: number, code: string) {
  expect(result).toMatchObject({ outcome: 'rejected', httpStatus: status, problem: { status, code } });
  if (result.outcome !== 'rejected') throw new Error('not rejected');
  return result.problem;
}

describe('Intake.receive', () => {
  const sandbox = storeSandbox('receive');
  let store: FinanceStore;
  beforeEach(() => {
    store = sandbox.open();
  });
  afterAll(() => sandbox.cleanup());

  describe('accepted', () => {
    it('commits a signed CloudEvent and answers with the canonical document and its envelope', async () => {
      const event = sampleEvent({ seed: 1, secret: SECRET, now });
      const result = await intakeFor(store).receive({ rawBody: event.rawBody, headers: event.headers });
      expect(result).toMatchObject({ outcome: 'accepted', httpStatus: 202 });
      if (result.outcome !== 'accepted') throw new Error('not accepted');
      expect(result.payload).toEqual(event.expected);
      expect(result.envelope).toEqual({
        id: 'evt-ER-000001-1',
        source: 'urn:finance-sync:samples',
        type: 'finance.expense-report.submitted',
        subject: 'ER-000001',
        time: new Date(NOW_MS).toISOString(),
        correlationId: 'generated-correlation-id',
        docType: 'ExpenseReport',
        docId: 'ER-000001',
        version: 1,
        attempt: 1,
      });
      expect(result.key).toBe(inboxKey('urn:finance-sync:samples', 'evt-ER-000001-1'));
      const stored = await store.get(result.key);
      expect(stored).toMatchObject({ state: 'open', envelope: result.envelope, payload: event.expected });
    });

    it('keeps the correlation id the sender sends in X-Correlation-Id', async () => {
      const event = sample(2);
      event.headers['X-Correlation-Id'] = 'sender-trace-42';
      const result = await intakeFor(store).receive(event);
      expect(result).toMatchObject({ outcome: 'accepted', envelope: { correlationId: 'sender-trace-42' } });
    });

    it('accepts Concur and Ramp events with the source event as payload (the document is fetched later)', async () => {
      for (const profileName of ['concur', 'ramp'] as const) {
        const event = sampleEvent({ profile: profileName, seed: 3, secret: SECRET, now });
        const result = await intakeFor(store, { profileName, signatureScheme: event.scheme }).receive(event);
        expect(result).toMatchObject({ outcome: 'accepted', payload: event.body });
        if (result.outcome !== 'accepted') throw new Error('not accepted');
        expect(result.envelope.source).toMatch(new RegExp(`^${profileName}:`));
        expect(result.envelope).not.toHaveProperty('documentUrl');
      }
    });

    it('leases the event to the intake in the commit itself, so no accepted event is without an owner', async () => {
      const result = await intakeFor(store, { lease: { owner: 'event-in-1', ms: 60_000 } }).receive(sample(26));
      if (result.outcome !== 'accepted') throw new Error('not accepted');
      expect(await store.get(result.key)).toMatchObject({
        state: 'open',
        leaseOwner: 'event-in-1',
        leaseMs: 60_000,
        attempts: 1,
      });
      const unleased = await intakeFor(store).receive(sample(27));
      if (unleased.outcome !== 'accepted') throw new Error('not accepted');
      expect((await store.get(unleased.key))?.leaseOwner).toBeUndefined();
    });

    it('asks its admission per event: admitted ones are leased, the others committed waiting and not to be emitted', async () => {
      const calls: string[] = [];
      let slots = 1;
      const admission = {
        admit: () => slots-- > 0,
        admitted: (key: string | undefined, leaseUntil?: number) => calls.push(`admitted ${key} ${leaseUntil}`),
        waiting: () => calls.push('waiting'),
      };
      const intake = intakeFor(store, { lease: { owner: 'event-in-1', ms: 60_000 }, admission });
      const first = await intake.receive(sample(28));
      const second = await intake.receive(sample(29));
      if (first.outcome !== 'accepted' || second.outcome !== 'accepted') throw new Error('not accepted');
      expect([first.waiting, second.waiting]).toEqual([false, true]);
      expect(await store.get(first.key)).toMatchObject({ leaseOwner: 'event-in-1', attempts: 1 });
      expect(await store.get(second.key)).toMatchObject({ leaseOwner: 'event-in-1', attempts: 0 });
      const leaseUntil = (await store.get(first.key))?.leaseUntil;
      expect(calls).toEqual([`admitted ${first.key} ${leaseUntil}`, 'waiting']);

      // A duplicate gives its reserved slot back.
      slots = 1;
      expect((await intake.receive(sample(28))).outcome).toBe('duplicate');
      expect(calls[2]).toBe('admitted undefined undefined');
    });

    it('accepts the previous secret during a rotation', async () => {
      const result = await intakeFor(store, { secrets: ['the-new-secret', SECRET] }).receive(sample(4));
      expect(result.outcome).toBe('accepted');
    });
  });

  describe('duplicate', () => {
    it('answers a second delivery with the first envelope and "accepted" while the first is in progress', async () => {
      const intake = intakeFor(store);
      const first = await intake.receive(sample(5));
      const again = sample(5);
      again.headers['X-Correlation-Id'] = 'a-different-one';
      const second = await intake.receive(again);
      expect(second).toMatchObject({
        outcome: 'duplicate',
        httpStatus: 200,
        envelope: { id: 'evt-ER-000005-1', correlationId: 'generated-correlation-id' },
        firstOutcome: { status: 'accepted' },
      });
      expect(first.outcome).toBe('accepted');
      expect(await store.countOpen()).toBe(1);
    });

    it('answers with the final outcome once the first delivery has one', async () => {
      const intake = intakeFor(store);
      const first = await intake.receive(sample(6));
      if (first.outcome !== 'accepted') throw new Error('not accepted');
      const finished = await store.finish(first.key, { status: 'posted', detail: { documentId: 'JE-1' } });
      const second = await intake.receive(sample(6));
      expect(second).toMatchObject({
        outcome: 'duplicate',
        firstOutcome: { status: 'posted', at: finished!.outcome!.at },
      });
    });

    it('treats a replayed Ramp webhook (Ramp signs no timestamp) as a duplicate, however late it comes', async () => {
      const event = sampleEvent({ profile: 'ramp', seed: 7, secret: SECRET, now });
      const first = await intakeFor(store, { profileName: 'ramp', signatureScheme: 'ramp' }).receive(event);
      const dayLater = intakeFor(store, {
        profileName: 'ramp',
        signatureScheme: 'ramp',
        now: () => NOW_MS + 86_400_000,
      });
      expect(first.outcome).toBe('accepted');
      expect((await dayLater.receive(event)).outcome).toBe('duplicate');
    });
  });

  describe('signatures', () => {
    const DAY_MS = 86_400_000;

    it('refuses a Ramp event older than the duplicate memory: without a signed time it may be a replay', async () => {
      expect(store.dedupRetentionMs).toBe(7 * DAY_MS);
      const event = sampleEvent({ profile: 'ramp', seed: 31, secret: SECRET, now });
      const ramp = (atMs: number) =>
        intakeFor(store, { profileName: 'ramp', signatureScheme: 'ramp', now: () => atMs });

      const late = expectRejected(await ramp(NOW_MS + 7 * DAY_MS).receive(event), 401, 'SIGNATURE_INVALID');
      expect(late.detail).toContain('7 days ago; duplicates are remembered for 7 days');
      expect(late.detail).toContain("raise the store's 'Remember duplicates for (days)'");
      expect(await store.countOpen()).toBe(0);

      // Within the memory, less an hour for the sender's clock, it is taken (and a replay of it is a duplicate).
      const inTime = await ramp(NOW_MS + 7 * DAY_MS - 3_600_000).receive(event);
      expect(inTime.outcome).toBe('accepted');
    });

    it('takes an old event whose signature carries its own time (a CloudEvent sent late, signed now)', async () => {
      const monthAgo = NOW_MS - 30 * DAY_MS;
      const event = sampleEvent({ seed: 32, secret: SECRET, now: () => monthAgo });
      const headers = signPayload('generic', event.rawBody, SECRET, { timestamp: Math.floor(NOW_MS / 1000) });
      const result = await intakeFor(store).receive({ rawBody: event.rawBody, headers });
      expect(result).toMatchObject({ outcome: 'accepted', envelope: { time: new Date(monthAgo).toISOString() } });
    });

    it('refuses a forged signature with 401 and stores nothing', async () => {
      const problem = expectRejected(
        await intakeFor(store).receive(sample(8, 'cloudevents', { secret: 'forged' })),
        401,
        'SIGNATURE_INVALID',
      );
      expect(problem.detail).toMatch(/no signature matched/);
      expect(JSON.stringify(problem)).not.toContain(SECRET);
      expect(await store.countOpen()).toBe(0);
    });

    it('refuses a stale signature (a replay after the tolerance) with 401', async () => {
      const late = intakeFor(store, { now: () => NOW_MS + 301_000 });
      const problem = expectRejected(await late.receive(sample(9)), 401, 'SIGNATURE_INVALID');
      expect(problem.detail).toMatch(/301 s old/);
      expect(await store.countOpen()).toBe(0);
    });

    it('refuses a body changed after signing', async () => {
      const event = sample(10);
      const tampered = {
        ...event,
        rawBody: Buffer.from(event.rawBody.toString().replace('"ER-000010"', '"ER-000099"')),
      };
      expectRejected(await intakeFor(store).receive(tampered), 401, 'SIGNATURE_INVALID');
    });

    it('refuses an event without signature headers', async () => {
      const problem = expectRejected(
        await intakeFor(store).receive({ rawBody: sample(11).rawBody, headers: {} }),
        401,
        'SIGNATURE_INVALID',
      );
      expect(problem.detail).toMatch(/X-Finance-Timestamp header is missing/);
    });
  });

  describe('bodies the sender must fix', () => {
    it('refuses malformed JSON with 400', async () => {
      const problem = expectRejected(
        await intakeFor(store).receive(signed('{"specversion": "1.0",')),
        400,
        'SCHEMA_INVALID',
      );
      expect(problem.detail).toMatch(/not valid JSON/);
      expect(await store.countOpen()).toBe(0);
    });

    it('refuses wrong types in the envelope and names the field', async () => {
      const body = sampleBody(12);
      body.id = 42;
      const problem = expectRejected(await intakeFor(store).receive(signed(body)), 400, 'SCHEMA_INVALID');
      expect(problem.errors).toEqual([
        { path: '/id', message: expect.stringMatching(/must be a non-empty string, got the number 42/) },
      ]);
    });

    it('refuses wrong types in the canonical document and names every field', async () => {
      const body = sampleBody(13);
      body.data.total.amount = 12.5;
      body.data.employeeId = 7;
      const problem = expectRejected(await intakeFor(store).receive(signed(body)), 400, 'SCHEMA_INVALID');
      expect(problem.errors!.map((error) => error.path).sort()).toEqual(['/data/employeeId', '/data/total/amount']);
      expect(await store.countOpen()).toBe(0);
    });

    it('points every field of a refusal into the event body, the canonical document at /data like the envelope', async () => {
      const body = sampleBody(13);
      body.data.total.currency = 'eur';
      delete body.data.employeeId;
      const problem = expectRejected(await intakeFor(store).receive(signed(body)), 400, 'SCHEMA_INVALID');
      expect(problem.errors).toEqual([
        { path: '/data/employeeId', message: 'The document is missing the required field "employeeId".' },
        { path: '/data/total/currency', message: expect.stringMatching(/^\/data\/total\/currency must be a 3-letter/) },
      ]);
      expect(problem.detail).toMatch(
        /^ExpenseReport is not valid: The document is missing .*; \/data\/total\/currency must/,
      );

      const envelope = sampleBody(13);
      delete envelope.data.docType;
      const refused = expectRejected(await intakeFor(store).receive(signed(envelope)), 400, 'SCHEMA_INVALID');
      expect(refused.errors!.map((error) => error.path)).toEqual(['/data/docType']);
    });

    function withOneLine(seed: number, amount: string, currency: string) {
      const body = sampleBody(seed);
      const line = { ...body.data.lines[0], amount: { amount, currency } };
      body.data.lines = [line];
      body.data.total = { amount, currency };
      return signed(body);
    }

    it('refuses an unknown currency with UNKNOWN_CURRENCY', async () => {
      const problem = expectRejected(
        await intakeFor(store).receive(withOneLine(14, '10.00', 'XYZ')),
        400,
        'UNKNOWN_CURRENCY',
      );
      expect(problem.errors!.map((error) => error.path).sort()).toEqual([
        '/data/lines/0/amount/currency',
        '/data/total/currency',
      ]);
    });

    it('refuses negative and over-precise amounts with INVALID_AMOUNT', async () => {
      const negative = expectRejected(
        await intakeFor(store).receive(withOneLine(15, '-10.00', 'EUR')),
        400,
        'INVALID_AMOUNT',
      );
      expect(negative.detail).toMatch(/is negative/);
      const precise = expectRejected(
        await intakeFor(store).receive(withOneLine(16, '10.001', 'EUR')),
        400,
        'INVALID_AMOUNT',
      );
      expect(precise.detail).toMatch(/has 3 decimal\(s\) but EUR has only 2/);
      expect(await store.countOpen()).toBe(0);
    });

    it('refuses amounts not written canonically with INVALID_AMOUNT, naming the form to send', async () => {
      const cases: Array<[string, string]> = [
        ['1469.8', 'must be written with 2 decimals for EUR: "1469.80"'],
        ['001469.80', 'must be written without leading zeros: "1469.80"'],
        ['-0.00', 'must be written as zero, without a minus sign: "0.00"'],
      ];
      for (const [index, [amount, message]] of cases.entries()) {
        const problem = expectRejected(
          await intakeFor(store).receive(withOneLine(30 + index, amount, 'EUR')),
          400,
          'INVALID_AMOUNT',
        );
        expect(problem.errors).toEqual([
          { path: '/data/total/amount', message: `/data/total/amount "${amount}" ${message}.` },
          { path: '/data/lines/0/amount/amount', message: `/data/lines/0/amount/amount "${amount}" ${message}.` },
        ]);
      }
      expect(await store.countOpen()).toBe(0);
    });

    it('quotes at most 40 characters of what was sent, so a refusal is never larger than the body', async () => {
      const lineId = 'L'.repeat(100_000);
      const body = sampleBody(18);
      const line = { ...body.data.lines[0], lineId };
      body.data.lines = [line, line, line];
      body.data.total = { amount: '3.00', currency: 'EUR' };
      line.amount = { amount: '1.00', currency: 'EUR' };
      body.data['K'.repeat(100_000)] = 1;
      const raw = JSON.stringify(body);
      const problem = expectRejected(await intakeFor(store).receive(signed(raw)), 400, 'SCHEMA_INVALID');
      expect(problem.errors).toEqual([
        { path: `/data/${'K'.repeat(100_000)}`, message: expect.stringContaining(`"${'K'.repeat(40)}..."`) },
      ]);
      const duplicates = expectRejected(
        await intakeFor(store).receive(signed(raw.replace(/,"K+":1/, ''))),
        400,
        'SCHEMA_INVALID',
      );
      expect(duplicates.errors!.map((error) => error.path)).toEqual(['/data/lines/1/lineId', '/data/lines/2/lineId']);
      expect(duplicates.errors![0].message).toContain(`"${'L'.repeat(40)}..." is already used by /lines/0`);
      for (const refusal of [problem, duplicates]) {
        expect(refusal.detail.length).toBeLessThan(1000);
        for (const error of refusal.errors!) expect(error.message.length).toBeLessThan(1000);
      }

      const envelope = sampleBody(18);
      envelope.specversion = { v: 'x'.repeat(100_000) };
      const wrongVersion = expectRejected(await intakeFor(store).receive(signed(envelope)), 400, 'SCHEMA_INVALID');
      expect(wrongVersion.detail).toMatch(/\/specversion: must be "1.0", got an object/);
      expect(await store.countOpen()).toBe(0);
    });

    it('refuses __proto__ keys anywhere in the body', async () => {
      const text = JSON.stringify(sampleBody(17)).replace('"data":{', '"data":{"__proto__":{"admin":true},');
      const problem = expectRejected(await intakeFor(store).receive(signed(text)), 400, 'SCHEMA_INVALID');
      expect(problem.errors).toEqual([{ path: '/data/__proto__', message: expect.stringMatching(/__proto__/) }]);
      expect(await store.countOpen()).toBe(0);
    });

    it('refuses a body over the limit with 413 before looking at its signature', async () => {
      const huge = { rawBody: Buffer.alloc(2048, 0x20), headers: {} };
      const problem = expectRejected(
        await intakeFor(store, { maxBytes: 1024 }).receive(huge),
        413,
        'PAYLOAD_TOO_LARGE',
      );
      expect(problem.detail).toBe(
        'The body has 2048 bytes; this endpoint accepts at most 1024. Send one event per request.',
      );
    });

    it('refuses an unusable X-Correlation-Id and an over-long event id', async () => {
      const badHeader = sample(18);
      badHeader.headers['X-Correlation-Id'] = 'has spaces in it';
      expectRejected(await intakeFor(store).receive(badHeader), 400, 'SCHEMA_INVALID');
      const body = sampleBody(19);
      body.id = 'x'.repeat(300);
      const problem = expectRejected(await intakeFor(store).receive(signed(body)), 400, 'SCHEMA_INVALID');
      expect(problem.detail).toMatch(/event id is 300 bytes long/);
    });
  });

  describe('control characters in id and source', () => {
    it('refuses them, so two different events can never share one inbox key (source + NUL + id)', async () => {
      const intake = intakeFor(store);
      const first = sampleBody(40);
      first.source = 'urn:x\u0000A';
      first.id = 'B';
      const second = sampleBody(41);
      second.source = 'urn:x';
      second.id = 'A\u0000B';
      const problems = [];
      for (const body of [first, second]) {
        problems.push(expectRejected(await intake.receive(signed(body)), 400, 'SCHEMA_INVALID'));
      }
      expect(problems[0].detail).toBe(
        'The event source contains the control character U+0000 at position 5; control characters ' +
          "(U+0000-U+001F, U+007F-U+009F) are not allowed in an event's id or source. Send the identifier without them.",
      );
      expect(problems[1].detail).toMatch(/^The event id contains the control character U\+0000 at position 1;/);
      expect(await store.countOpen()).toBe(0);
    });

    it('refuses every C0 and C1 control character and DEL, and accepts other Unicode', async () => {
      const intake = intakeFor(store);
      for (const [index, character] of ['\u001f', '\n', '\u007f', '\u0085', '\u009f'].entries()) {
        const body = sampleBody(42 + index);
        body.id = `evt${character}42`;
        const problem = expectRejected(await intake.receive(signed(body)), 400, 'SCHEMA_INVALID');
        expect(problem.detail).toContain('The event id contains the control character');
      }
      const unicode = sampleBody(47);
      unicode.source = 'urn:fournisseur:é-ü-€';
      expect((await intake.receive(signed(unicode))).outcome).toBe('accepted');
    });

    it('refuses them in check() too, the step MQTT and polling use, for every profile', async () => {
      const body = sampleBody(48);
      body.id = 'a\u0001b';
      expect(intakeFor(store).check(signed(body))).toMatchObject({ outcome: 'rejected', httpStatus: 400 });
      const concur = sampleEvent({ profile: 'concur', seed: 49, secret: SECRET, now });
      const concurBody = JSON.parse(concur.rawBody.toString('utf8'));
      const withControl = JSON.stringify(concurBody).replace(/"(id|Id|ID)":"/, '"$1":"\\u0002');
      expect(withControl).not.toBe(JSON.stringify(concurBody));
      const result = intakeFor(store, { profileName: 'concur', signatureScheme: concur.scheme }).check(
        signed(withControl, { scheme: concur.scheme }),
      );
      expect(result).toMatchObject({ outcome: 'rejected', httpStatus: 400, problem: { code: 'SCHEMA_INVALID' } });
    });
  });

  describe('store trouble', () => {
    it('answers 503 with Retry-After when the inbox is full, and stores nothing', async () => {
      const full = sandbox.open({ maxInboxEntries: 1 });
      const intake = intakeFor(full);
      expect((await intake.receive(sample(20))).outcome).toBe('accepted');
      const result = await intake.receive(sample(21));
      expect(result).toMatchObject({
        outcome: 'failed',
        httpStatus: 503,
        retryAfterSeconds: 30,
        problem: { status: 503, code: 'STORE_FULL' },
      });
      expect(await full.countOpen()).toBe(1);
      // A duplicate of what is stored is still answered while the inbox is full.
      expect((await intake.receive(sample(20))).outcome).toBe('duplicate');
    });

    it('answers 503 when the store cannot be reached, without telling the sender where it lives', async () => {
      const closed = sandbox.open();
      await closed.close();
      const result = await intakeFor(closed).receive(sample(22));
      expect(result).toMatchObject({
        outcome: 'failed',
        httpStatus: 503,
        retryAfterSeconds: 5,
        problem: { code: 'STORE_UNAVAILABLE' },
      });
      if (result.outcome !== 'failed') throw new Error('not failed');
      expect(result.problem.detail).toBe(
        'The event store is not available; nothing was stored. Send the event again after the Retry-After interval.',
      );
      expect(result.error.message).toMatch(/closed/);
    });

    it('answers 503 when the store could not be opened at all', async () => {
      const intake = intakeFor(store, {
        store: () => {
          throw new Error('ENOSPC: no space left on device, open /var/lib/node-red/finance-sync/store');
        },
      });
      const result = await intake.receive(sample(23));
      expect(result).toMatchObject({ outcome: 'failed', httpStatus: 503, problem: { code: 'STORE_UNAVAILABLE' } });
      expect(JSON.stringify((result as { problem: unknown }).problem)).not.toContain('/var/lib');
    });
  });

  describe('misconfiguration', () => {
    it('answers 500 without details when no secret is configured for a signing scheme', async () => {
      const result = await intakeFor(store, { secrets: [] }).receive(sample(24));
      expect(result).toMatchObject({ outcome: 'failed', httpStatus: 500, problem: { code: 'CONFIG_INVALID' } });
      expect(result).not.toHaveProperty('retryAfterSeconds');
      expect((result as { problem: { detail: string } }).problem.detail).not.toMatch(/secret/);
    });
  });

  describe('check and commit', () => {
    it('checks without touching the store, then commits', async () => {
      const intake = intakeFor(store);
      const checked = intake.check(sample(25));
      expect(checked.outcome).toBe('checked');
      expect(await store.countOpen()).toBe(0);
      if (checked.outcome !== 'checked') throw new Error('not checked');
      expect((await intake.commit(checked.event)).outcome).toBe('accepted');
      expect((await intake.commit(checked.event)).outcome).toBe('duplicate');
    });
  });

  describe('closing', () => {
    it('refuses an event with 503 and a short Retry-After while the intake closes', () => {
      expect(closingRefusal()).toMatchObject({
        outcome: 'failed',
        httpStatus: 503,
        retryAfterSeconds: 5,
        problem: { status: 503, code: 'STORE_UNAVAILABLE' },
      });
    });

    it('says the endpoint is being redeployed or stopped, not that the store is unavailable', () => {
      expect(closingRefusal().problem.detail).toBe(
        'This endpoint is being redeployed or stopped, so nothing was stored. Send the event again after the ' +
          'Retry-After interval.',
      );
    });
  });
});
