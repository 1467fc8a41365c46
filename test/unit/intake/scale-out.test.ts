/**
 * Scale-out in lib/intake: instance identity (lease owners, default client ids), recovery that lists only its own
 * entries in a shared store, and taking over events a publishing intake committed (Intake.claim).
 */
import { eventInSettings } from '../../../lib/intake/event-in-settings';
import { PUBLISHED_BY, PUBLISHED_ID, PUBLISHED_SOURCE, publishedEventOf } from '../../../lib/intake/event-publisher';
import { InFlightWindow } from '../../../lib/intake/in-flight';
import { defaultClientId, instanceId } from '../../../lib/intake/instance';
import { Intake } from '../../../lib/intake/intake';
import {
  InboxRecovery,
  isEarlierProcessOf,
  leaseOwnerFor,
  processIdFor,
  recoveryVerdict,
} from '../../../lib/intake/recovery';
import { inboxKey, type FinanceStore, type InboxEntry } from '../../../lib/reliability/store';
import { getProfile } from '../../../lib/sources/profiles';
import { sampleProfileOptions } from '../../../lib/sources/sampleEvents';
import { BACKENDS, manualClock, storeSandbox, type Clock } from '../store/store-fixture';

describe('instance identity', () => {
  it('is the host name and a digest of the user directory: stable for one, different for another', () => {
    const a = instanceId('/srv/node-red/a', 'host-1');
    expect(a).toMatch(/^host-1~[0-9a-f]{8}$/);
    expect(instanceId('/srv/node-red/a', 'host-1')).toBe(a);
    expect(instanceId('/srv/node-red/a/', 'host-1')).toBe(a);
    expect(instanceId('/srv/node-red/b', 'host-1')).not.toBe(a);
    expect(instanceId('/srv/node-red/a', 'host-2')).not.toBe(a);
    // Characters a lease owner or a client id cannot carry are replaced.
    expect(instanceId('/x', 'we@ird/host name')).toMatch(/^we-ird-host-name~/);
  });

  it('keeps two Node-RED instances on one machine from taking over each other’s live leases', () => {
    const first = leaseOwnerFor('in', `${instanceId('/srv/nr-1', 'm')}/run1`);
    const second = leaseOwnerFor('in', `${instanceId('/srv/nr-2', 'm')}/run2`);
    const firstRestarted = leaseOwnerFor('in', `${instanceId('/srv/nr-1', 'm')}/run3`);
    expect(isEarlierProcessOf(first, second)).toBe(false);
    expect(isEarlierProcessOf(second, first)).toBe(false);
    expect(isEarlierProcessOf(first, firstRestarted)).toBe(true);
    expect(processIdFor('/srv/nr-1')).toMatch(new RegExp(`^${instanceId('/srv/nr-1')}/[0-9a-f]{12}$`));
    expect(processIdFor('/srv/nr-1')).toBe(processIdFor('/srv/nr-1'));
  });

  it('names the instance in the default MQTT client id, so hosts running one flow have their own sessions', () => {
    const settings = (instance: string) =>
      eventInSettings({ mode: 'mqtt', broker: 'mqtt://127.0.0.1:1883', topic: '$share/g/t' }, 'n1', instance);
    expect(settings('host-1~aaaa').mqtt?.clientId).toBe(defaultClientId('n1', 'host-1~aaaa'));
    expect(settings('host-1~aaaa').mqtt?.clientId).toBe('finance-sync-n1-host-1~aaaa');
    expect(settings('host-2~bbbb').mqtt?.clientId).not.toBe(settings('host-1~aaaa').mqtt?.clientId);
    const fixed = eventInSettings(
      { mode: 'mqtt', broker: 'mqtt://127.0.0.1:1883', topic: 't', clientId: 'mine' },
      'n1',
      'host-1~aaaa',
    );
    expect(fixed.mqtt?.clientId).toBe('mine');
  });
});

describe('publish and claim settings', () => {
  it('publish mode needs a broker and a plain topic; claim is off unless ticked', () => {
    const http = eventInSettings(
      { mode: 'http', path: '/in', publish: true, broker: 'mqtt://b:1883', publishTopic: 'finance/expense/submitted' },
      'n1',
      'h~1',
    );
    expect(http.publish).toEqual({
      url: 'mqtt://b:1883',
      topic: 'finance/expense/submitted',
      clientId: 'finance-sync-n1-h~1',
    });
    expect(eventInSettings({ mode: 'http', path: '/in' }, 'n1').publish).toBeUndefined();
    expect(() =>
      eventInSettings({ mode: 'http', path: '/in', publish: true, broker: 'mqtt://b', publishTopic: 'a/#' }, 'n1'),
    ).toThrow(/Publish topic "a\/#" must be a plain topic/);
    expect(() => eventInSettings({ mode: 'http', path: '/in', publish: 'true', publishTopic: 'a' }, 'n1')).toThrow(
      /Broker URL/,
    );
    const mqtt = (claim?: boolean) =>
      eventInSettings({ mode: 'mqtt', broker: 'mqtt://b', topic: 't', ...(claim === undefined ? {} : { claim }) }, 'n');
    expect(mqtt().mqtt?.claim).toBe(false);
    expect(mqtt(true).mqtt?.claim).toBe(true);
  });

  it('reads the entry a published message names from its user properties, nothing from other messages', () => {
    expect(
      publishedEventOf({ [PUBLISHED_SOURCE]: 'urn:src', [PUBLISHED_ID]: 'e1', [PUBLISHED_BY]: 'webhook' }),
    ).toEqual({ key: inboxKey('urn:src', 'e1'), fromNodeId: 'webhook' });
    expect(publishedEventOf({ [PUBLISHED_SOURCE]: 'urn:src', [PUBLISHED_ID]: 'e1' })).toBeUndefined();
    expect(
      publishedEventOf({ [PUBLISHED_SOURCE]: ['a', 'b'], [PUBLISHED_ID]: 'e1', [PUBLISHED_BY]: 'w' }),
    ).toBeUndefined();
    expect(publishedEventOf(undefined)).toBeUndefined();
  });
});

describe.each(BACKENDS)('scale-out in a shared store (%s)', (backend) => {
  const sandbox = storeSandbox('scale-out', backend);
  let clock: Clock;
  let store: FinanceStore;
  const key = (id: string) => inboxKey('concur', id);
  const accept = (id: string, owner: string, ms = 1000) =>
    store.accept({ key: key(id), envelope: { id, source: 'concur' }, payload: { id }, lease: { owner, ms } });

  beforeEach(() => {
    clock = manualClock();
    store = sandbox.open({ path: sandbox.newPath(), now: clock.now });
  });
  afterEach(() => store.close());
  afterAll(() => sandbox.cleanup());

  it('recovery is not starved by a whole batch of orphans a removed intake left', async () => {
    const batchSize = 10;
    for (let i = 0; i < 3 * batchSize; i += 1) await accept(`orphan${i}`, 'removed@h/p');
    clock.advance(10);
    await accept('mine1', 'in-1@h/old');
    await accept('mine2', 'in-1@h/old');
    clock.advance(5000);
    const emitted: InboxEntry[] = [];
    const recovery = new InboxRecovery({
      store: () => store,
      owner: 'in-1@h/new',
      leaseMs: 1000,
      intervalMs: 60_000,
      batchSize,
      verdict: (entry) =>
        recoveryVerdict(entry, 'in-1@h/new', {
          isDeployedIntake: (nodeId) => nodeId === 'in-1' || nodeId === 'in-2',
          onlyIntakeOnStore: () => false,
        }),
      ownedBy: () => 'in-1',
      emit: (entry) => emitted.push(entry),
      onError: (error) => {
        throw error;
      },
    });
    const pass = await recovery.runOnce();
    expect(emitted.map((entry) => entry.envelope.id).sort()).toEqual(['mine1', 'mine2']);
    // The orphans are still counted (once per recovery interval), so the node can say so; they are left alone.
    expect(pass.orphans).toBe(batchSize);
    expect(await store.get(key('orphan0'))).toMatchObject({ leaseOwner: 'removed@h/p', attempts: 1 });
    await recovery.stop();
  });

  it('a consumer takes a published event over and emits it once; a second delivery finds it taken', async () => {
    const profile = getProfile('cloudevents', sampleProfileOptions());
    const consumer = (owner: string, admission?: ConstructorParameters<typeof Intake>[0]['admission']) =>
      new Intake({
        store: () => store,
        profile,
        signatureScheme: 'none',
        secrets: [],
        maxBytes: 1024,
        lease: { owner, ms: 30_000 },
        ...(admission && { admission }),
      });
    await accept('e1', 'webhook@host-a~1/p', 15_000);
    const first = await consumer('in@host-b~2/p').claim(key('e1'), 'webhook');
    expect(first).toMatchObject({
      outcome: 'claimed',
      waiting: false,
      entry: { leaseOwner: 'in@host-b~2/p', attempts: 2 },
    });
    expect(await consumer('in@host-c~3/p').claim(key('e1'), 'webhook')).toMatchObject({ outcome: 'taken' });
    expect(await consumer('in@host-c~3/p').claim(key('unknown'), 'webhook')).toEqual({
      outcome: 'missing',
      key: key('unknown'),
    });

    // With a full window the entry is taken over waiting: recovery of the consumer hands it out later.
    await accept('e2', 'webhook@host-a~1/p', 15_000);
    const window = new InFlightWindow(1);
    window.tryReserve();
    const recovery = new InboxRecovery({
      store: () => store,
      owner: 'in@host-b~2/p',
      leaseMs: 30_000,
      intervalMs: 60_000,
      window,
      verdict: () => 'recover',
      emit: () => undefined,
      onError: () => undefined,
    });
    const waiting = await consumer('in@host-b~2/p', recovery).claim(key('e2'), 'webhook');
    expect(waiting).toMatchObject({
      outcome: 'claimed',
      waiting: true,
      entry: { leaseOwner: 'in@host-b~2/p', attempts: 1 },
    });
    await recovery.stop();
  });

  it('a store failure while taking over is a failure to retry, not a refusal', async () => {
    const broken = {
      takeOverLease: () => Promise.reject(new Error('connection refused')),
    } as unknown as FinanceStore;
    const intake = new Intake({
      store: () => broken,
      profile: getProfile('cloudevents', sampleProfileOptions()),
      signatureScheme: 'none',
      secrets: [],
      maxBytes: 1024,
      lease: { owner: 'in@h/p', ms: 1000 },
    });
    expect(await intake.claim(key('e1'), 'webhook')).toMatchObject({
      outcome: 'failed',
      error: { code: 'STORE_UNAVAILABLE' },
    });
  });
});
