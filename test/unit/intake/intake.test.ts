import { inboxKey, type FinanceStore } from '../../../lib/reliability/store';
import { getProfile } from '../../../lib/sources/profiles';
import { sampleEvent, sampleProfileOptions } from '../../../lib/sources/sampleEvents';
import { signPayload } from '../../../lib/sources/signatures';
import { closingRefusal, type Intake, type IntakeRejected, type IntakeResult } from '../../../lib/intake/intake';
import { intakeFor, now, NOW_MS, sample, sampleBody, SECRET, signed, storeSandbox } from './fixtures';

/** The store an intake made by intakeFor() commits to. */
function intakeStore(intake: Intake): FinanceStore {
  return (intake as unknown as { options: { store: () => FinanceStore } }).options.store();
}

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

  describe('an id reused for another event', () => {
    /** The same value with its object members in reverse order, at every depth. */
    const reordered = (value: unknown): unknown => {
      if (Array.isArray(value)) return value.map(reordered);
      if (value === null || typeof value !== 'object') return value;
      return Object.fromEntries(
        Object.entries(value)
          .reverse()
          .map(([name, member]) => [name, reordered(member)]),
      );
    };
    /** A decimal amount string plus one whole unit (1.00), in integer cents so no float rounding. */
    const plusOne = (amount: string) => {
      const cents = Math.round(Number(amount.replace('.', ''))) + 100;
      return `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`;
    };

    it('is still a duplicate when only delivery metadata changed: time, extensions, correlation id', async () => {
      const intake = intakeFor(store);
      const body = sampleBody(50);
      expect((await intake.receive(signed(body))).outcome).toBe('accepted');
      const redelivered = {
        ...body,
        time: new Date(NOW_MS + 60_000).toISOString(),
        traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
        comexampledelivery: 'retry-2',
      };
      const second = await intake.receive(signed(redelivered, { headers: { 'X-Correlation-Id': 'other-trace' } }));
      expect(second).toMatchObject({ outcome: 'duplicate', httpStatus: 200, envelope: { time: body.time } });
    });

    it('is still a duplicate when the embedded document has its members in another order', async () => {
      const intake = intakeFor(store);
      const body = sampleBody(51);
      expect((await intake.receive(signed(body))).outcome).toBe('accepted');
      const again = reordered(body) as Record<string, any>;
      expect(JSON.stringify(again)).not.toBe(JSON.stringify(body));
      expect((await intake.receive(signed(again))).outcome).toBe('duplicate');
    });

    it('answers 409 naming the field when the type, document id or version differs, and stores nothing', async () => {
      const changes: Array<[string, (body: Record<string, any>) => void, string]> = [
        [
          'type',
          (body) => (body.type = 'finance.expense-report.approved'),
          'its type was "finance.expense-report.submitted", this event\'s is "finance.expense-report.approved"',
        ],
        [
          'docId',
          (body) => (body.data.reportId = 'ER-999999'),
          'its docId was "ER-000052", this event\'s is "ER-999999"',
        ],
        ['version', (body) => (body.data.sourceRef.version = 2), "its version was 1, this event's is 2"],
        ['subject', (body) => delete body.subject, 'its subject was "ER-000052", this event\'s is absent'],
      ];
      for (const [field, change, differs] of changes) {
        const intake = intakeFor(sandbox.open());
        const body = sampleBody(52);
        const first = await intake.receive(signed(body));
        if (first.outcome !== 'accepted') throw new Error('not accepted');
        change(body);
        const result = await intake.receive(signed(body));
        const problem = expectRejected(result, 409, 'EVENT_ID_REUSED');
        expect(problem.title).toBe('The event id was already used for another event');
        expect(problem.type).toBe('https://finance-sync.dev/problems/event-id-reused');
        const stored = await intakeStore(intake).get(first.key);
        const receivedAt = new Date(stored!.receivedAt).toISOString();
        expect(problem.detail).toBe(
          'The event id "evt-ER-000052-1" of source "urn:finance-sync:samples" was already used for another event, ' +
            `received at ${receivedAt}: ${differs}. That event and its outcome stay as they are and this one was ` +
            'not stored; send it with a new id.',
        );
        expect((result as IntakeRejected).error.details).toEqual({
          field,
          id: 'evt-ER-000052-1',
          source: 'urn:finance-sync:samples',
          firstReceivedAt: receivedAt,
        });
        expect(stored).toMatchObject({ envelope: first.envelope, payload: first.payload });
        expect(await intakeStore(intake).countOpen()).toBe(1);
      }
    });

    it('answers 409 pointing into the document when the embedded document differs (another amount)', async () => {
      const intake = intakeFor(store);
      const body = sampleBody(53);
      const first = await intake.receive(signed(body));
      if (first.outcome !== 'accepted') throw new Error('not accepted');
      const finished = await store.finish(first.key, { status: 'posted', detail: { documentId: 'JE-53' } });
      body.data.lines[0].amount.amount = plusOne(body.data.lines[0].amount.amount);
      body.data.total.amount = plusOne(body.data.total.amount);
      const result = await intake.receive(signed(body));
      const problem = expectRejected(result, 409, 'EVENT_ID_REUSED');
      expect(problem.detail).toContain('was already used for another event, received at ');
      expect(problem.detail).toContain(': the document differs at /data/total/amount.');
      expect(problem.errors).toEqual([{ path: '/data/total/amount', message: problem.detail }]);
      if (result.outcome !== 'rejected') throw new Error('not rejected');
      expect(result.error.details).toMatchObject({ field: 'document', path: '/data/total/amount' });
      // The first event and its outcome stay as they are.
      expect(await store.get(first.key)).toMatchObject({ payload: first.payload, outcome: finished!.outcome });
    });

    it('refuses an unpaired surrogate anywhere in the body, so what is stored is what was sent', async () => {
      const intake = intakeFor(store);
      const body = sampleBody(55);
      // A cut emoji: JSON.stringify writes the lone high surrogate as "\ud83d". It has no UTF-8 form, so the
      // store would keep replacement characters and a redelivery of these bytes would differ from its copy.
      body.data.lines[0].merchant = 'Caf\u00e9 \ud83d';
      const problem = expectRejected(await intake.receive(signed(body)), 400, 'SCHEMA_INVALID');
      expect(problem.detail).toContain('unpaired surrogate U+D83D in the text at /data/lines/0/merchant (position 5)');
      expect(await store.countOpen()).toBe(0);
      // The whole emoji is text like any other, and its redelivery a duplicate.
      body.data.lines[0].merchant = 'Caf\u00e9 \ud83d\ude00';
      expect((await intake.receive(signed(body))).outcome).toBe('accepted');
      expect((await intake.receive(signed(body))).outcome).toBe('duplicate');
    });

    it('is not checked for profiles whose ids are made from the document and its version (Coupa polling)', async () => {
      const cloudevents = getProfile('cloudevents', sampleProfileOptions());
      const intake = intakeFor(store, { profile: { ...cloudevents, derivesEventIds: true } });
      const body = sampleBody(56);
      expect((await intake.receive(signed(body))).outcome).toBe('accepted');
      body.type = 'finance.expense-report.approved';
      expect((await intake.receive(signed(body))).outcome).toBe('duplicate');
      expect(getProfile('coupa', sampleProfileOptions()).derivesEventIds).toBe(true);
    });

    it('compares the envelope of profiles that only announce a document (Concur): timeStamp may change, not the report', async () => {
      const concur = sampleEvent({ profile: 'concur', seed: 54, secret: SECRET, now });
      const intake = intakeFor(store, { profileName: 'concur', signatureScheme: concur.scheme });
      expect((await intake.receive(concur)).outcome).toBe('accepted');
      const body = JSON.parse(concur.rawBody.toString('utf8'));
      body.timeStamp = new Date(NOW_MS + 120_000).toISOString();
      const later = signed(body, { scheme: concur.scheme, headers: { 'Content-Type': 'application/json' } });
      expect((await intake.receive(later)).outcome).toBe('duplicate');
      const firstReportId = body.facts.reportId;
      body.facts.reportId = 'OTHER-REPORT';
      const other = signed(body, { scheme: concur.scheme, headers: { 'Content-Type': 'application/json' } });
      const problem = expectRejected(await intake.receive(other), 409, 'EVENT_ID_REUSED');
      expect(problem.detail).toContain(`its docId was "${firstReportId}", this event's is "OTHER-REPORT"`);
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

    describe.each(['generic', 'standard-webhooks'] as const)('an event a broker kept (heldByBroker), %s', (scheme) => {
      const secret = scheme === 'generic' ? SECRET : `whsec_${Buffer.alloc(24, 5).toString('base64')}`;
      const keptEvent = (seed: number, signedAtMs: number) => {
        const event = sampleEvent({ seed, secret, now: () => signedAtMs });
        const headers = signPayload(scheme, event.rawBody, secret, { timestamp: Math.floor(signedAtMs / 1000) });
        return { rawBody: event.rawBody, headers };
      };
      const intakeAt = (atMs: number) =>
        intakeFor(store, { signatureScheme: scheme, secrets: [secret], now: () => atMs });

      it('is taken after a stop longer than the tolerance; over the webhook the same bytes are stale', async () => {
        const signedAt = NOW_MS - 6 * 60 * 1000;
        const event = keptEvent(40, signedAt);
        const webhook = expectRejected(await intakeAt(NOW_MS).receive(event), 401, 'SIGNATURE_INVALID');
        expect(webhook.detail).toContain('tolerance');
        const kept = await intakeAt(NOW_MS).receive({ ...event, heldByBroker: true });
        expect(kept.outcome).toBe('accepted');
        // Delivered again (a replay, or the broker's redelivery): a duplicate.
        expect((await intakeAt(NOW_MS).receive({ ...event, heldByBroker: true })).outcome).toBe('duplicate');
      });

      it('is still refused with a forged signature, and beyond the duplicate memory', async () => {
        const event = keptEvent(41, NOW_MS - 3_600_000);
        const forged = { ...event, headers: { ...event.headers }, heldByBroker: true };
        const name = Object.keys(forged.headers).find((key) => /timestamp/i.test(key))!;
        (forged.headers as Record<string, string>)[name] = String(Math.floor(NOW_MS / 1000));
        const problem = expectRejected(await intakeAt(NOW_MS).receive(forged), 401, 'SIGNATURE_INVALID');
        expect(problem.detail).toContain('no signature matched');

        const old = keptEvent(42, NOW_MS - 7 * DAY_MS);
        const late = expectRejected(
          await intakeAt(NOW_MS).receive({ ...old, heldByBroker: true }),
          401,
          'SIGNATURE_INVALID',
        );
        expect(late.detail).toContain('was signed at');
        expect(late.detail).toContain('duplicates are remembered for 7 days');
        const inTime = keptEvent(43, NOW_MS - 7 * DAY_MS + 3_600_000);
        expect((await intakeAt(NOW_MS).receive({ ...inTime, heldByBroker: true })).outcome).toBe('accepted');
        expect(await store.countOpen()).toBe(1);
      });
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
          "(U+0000-U+001F, U+007F-U+009F) are not allowed in an event's id, source or document id. Send the " +
          'identifier without them.',
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

  describe('bidirectional controls, and the document id', () => {
    const BIDI_CONTROLS = ['\u061c', '\u200e', '\u200f', '\u202a', '\u202b', '\u202c', '\u202d', '\u202e'].concat([
      '\u2066',
      '\u2067',
      '\u2068',
      '\u2069',
    ]);

    it('refuses every bidirectional control in the id and the source, naming the code point and position', async () => {
      const intake = intakeFor(store);
      for (const [index, character] of BIDI_CONTROLS.entries()) {
        const body = sampleBody(60 + index);
        if (index % 2 === 0) body.id = `evt-1${character}2`;
        else body.source = `urn:acme${character}:x`;
        const problem = expectRejected(await intake.receive(signed(body)), 400, 'SCHEMA_INVALID');
        const codePoint = character.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0');
        const attribute = index % 2 === 0 ? 'id' : 'source';
        const position = index % 2 === 0 ? 5 : 8;
        expect(problem.detail).toBe(
          `The event ${attribute} contains the bidirectional control character U+${codePoint} at position ` +
            `${position}; bidirectional controls (U+061C, U+200E, U+200F, U+202A-U+202E, U+2066-U+2069) are not ` +
            "allowed in an event's id, source or document id: they make one identifier display as another. Send " +
            'the identifier without them.',
        );
      }
      expect(await store.countOpen()).toBe(0);
    });

    it('refuses control characters and bidirectional controls in the document id', async () => {
      const intake = intakeFor(store);
      const cases: Array<[string, string]> = [
        ['ER-\u0001-1', 'the control character U+0001 at position 3;'],
        ['ER-\u009f', 'the control character U+009F at position 3;'],
        ['ER-1\u202e9', 'the bidirectional control character U+202E at position 4;'],
      ];
      for (const [index, [docId, found]] of cases.entries()) {
        const body = sampleBody(80 + index);
        body.data.reportId = docId;
        const result = await intake.receive(signed(body));
        const problem = expectRejected(result, 400, 'SCHEMA_INVALID');
        expect(problem.detail).toMatch(new RegExp(`^The document id contains ${found.replace(/[+]/g, '\\+')} `));
        expect(problem.detail).toMatch(/Send the identifier without (them|it)\.$/);
        expect((result as IntakeRejected).error.details).toMatchObject({ field: 'document id', attribute: 'docId' });
      }
      expect(await store.countOpen()).toBe(0);
      const rightToLeft = sampleBody(85);
      rightToLeft.data.reportId = 'ER-\u05d0\u05d1-\u0627\u0644-1';
      expect((await intake.receive(signed(rightToLeft))).outcome).toBe('accepted');
    });

    it('checks the document id of profiles that only announce a document too (Concur reportId)', () => {
      const concur = sampleEvent({ profile: 'concur', seed: 86, secret: SECRET, now });
      const body = JSON.parse(concur.rawBody.toString('utf8'));
      body.facts.reportId = `${body.facts.reportId}\u2067`;
      const result = intakeFor(store, { profileName: 'concur', signatureScheme: concur.scheme }).check(
        signed(body, { scheme: concur.scheme, headers: { 'Content-Type': 'application/json' } }),
      );
      expect(result).toMatchObject({ outcome: 'rejected', httpStatus: 400, problem: { code: 'SCHEMA_INVALID' } });
      expect((result as IntakeRejected).problem.detail).toMatch(
        /^The document id contains the bidirectional control character U\+2067 at position \d+;/,
      );
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
