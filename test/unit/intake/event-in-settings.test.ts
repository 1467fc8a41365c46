import { checkOwnPortSigning, eventInSettings } from '../../../lib/intake/event-in-settings';

function errorOf(fn: () => unknown): any {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('nothing was thrown');
}

describe('eventInSettings', () => {
  it('defaults to an http endpoint with a 1 MiB limit, a 5 minute lease and recovery every 10 s', () => {
    expect(eventInSettings({ path: 'finance/events' }, 'n1')).toEqual({
      mode: 'http',
      path: '/finance/events',
      maxBytes: 1024 * 1024,
      leaseMs: 300_000,
      recoveryIntervalMs: 10_000,
    });
  });

  it('listens on a port of its own when one is given, on 127.0.0.1 unless told another address', () => {
    expect(eventInSettings({ path: '/e', listenPort: '8090' }, 'n1').ownServer).toEqual({
      host: '127.0.0.1',
      port: 8090,
    });
    expect(eventInSettings({ path: '/e', listenPort: 8091, listenHost: ' 0.0.0.0 ' }, 'n1').ownServer).toEqual({
      host: '0.0.0.0',
      port: 8091,
    });
    expect(eventInSettings({ path: '/e', listenPort: ' ' }, 'n1').ownServer).toBeUndefined();
    expect(errorOf(() => eventInSettings({ path: '/e', listenPort: '70000' }, 'n1'))).toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringContaining('Port must be a whole number from 1 to 65535'),
    });
    expect(
      errorOf(() => eventInSettings({ path: '/e', listenPort: '8090', listenHost: 'http://x:1' }, 'n1')),
    ).toMatchObject({
      code: 'CONFIG_INVALID',
      details: { field: 'listenHost' },
    });
  });

  it('refuses an own port open to other hosts for unsigned events, and allows it on loopback or when signed', () => {
    const open = eventInSettings({ path: '/e', listenPort: '8090', listenHost: '0.0.0.0' }, 'n1');
    expect(errorOf(() => checkOwnPortSigning(open, 'none'))).toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringContaining('would accept unsigned events from any host'),
      details: { field: 'listenHost' },
    });
    expect(() => checkOwnPortSigning(open, 'generic')).not.toThrow();
    for (const host of ['127.0.0.1', '127.1.2.3', '::1', 'localhost']) {
      const loopback = eventInSettings({ path: '/e', listenPort: '8090', listenHost: host }, 'n1');
      expect(() => checkOwnPortSigning(loopback, 'none')).not.toThrow();
    }
    // On Node-RED's own server the endpoint is behind httpNodeAuth when that is set: the user's choice.
    expect(() => checkOwnPortSigning(eventInSettings({ path: '/e' }, 'n1'), 'none')).not.toThrow();
  });

  it('gives an MQTT subscription a stable client id from the node id and the instance', () => {
    expect(
      eventInSettings(
        { mode: 'mqtt', broker: 'mqtt://127.0.0.1:1883', topic: '$share/finance/events/#' },
        'a1b2',
        'host-1~0a1b2c3d',
      ),
    ).toEqual({
      mode: 'mqtt',
      mqtt: {
        url: 'mqtt://127.0.0.1:1883',
        topic: '$share/finance/events/#',
        clientId: 'finance-sync-a1b2-host-1~0a1b2c3d',
        claim: false,
      },
      maxBytes: 1024 * 1024,
      leaseMs: 300_000,
      recoveryIntervalMs: 10_000,
    });
    expect(
      eventInSettings({ mode: 'mqtt', broker: 'mqtts://b', topic: 't', clientId: 'host-7' }, 'x').mqtt!.clientId,
    ).toBe('host-7');
  });

  it('takes input mode with its limits', () => {
    expect(eventInSettings({ mode: 'poll' }, 'n').poll).toEqual({
      intervalMs: 60_000,
      resource: 'requisitions',
      pageSize: 50,
    });
    expect(
      eventInSettings(
        {
          mode: 'poll',
          pollResource: 'purchase_orders',
          pollSeconds: '5',
          pollPageSize: '20',
          pollUpdatedAfter: '2026-01-01T00:00:00+00:00',
        },
        'n',
      ).poll,
    ).toEqual({
      intervalMs: 5000,
      resource: 'purchase_orders',
      pageSize: 20,
      updatedAfter: '2026-01-01T00:00:00+00:00',
    });
    expect(eventInSettings({ mode: 'input', maxBytes: '2048', leaseSeconds: 60, recoverySeconds: '2' }, 'n')).toEqual({
      mode: 'input',
      maxBytes: 2048,
      leaseMs: 60_000,
      recoveryIntervalMs: 2000,
    });
  });

  it('reports each bad setting by name', () => {
    const cases: Array<[object, RegExp]> = [
      [{ mode: 'pull' }, /Mode "pull" is not one of http, input, mqtt, poll/],
      [{ mode: 'poll', pollResource: 'invoices' }, /Documents "invoices" is not one of requisitions, purchase_orders/],
      [{ mode: 'poll', pollSeconds: '0' }, /Poll every \(s\) must be a whole number from 1 to 86400/],
      [{ mode: 'poll', pollPageSize: 51 }, /Page size must be a whole number from 1 to 50/],
      [
        { mode: 'poll', pollUpdatedAfter: '2026-01-01' },
        /Updated after "2026-01-01" is not a date-time with its offset/,
      ],
      [{ mode: 'http' }, /Path is empty/],
      [{ path: '/hooks/:id' }, /route parameters and wildcards are not allowed/],
      [{ path: '/x', maxBytes: 'big' }, /Max body size \(bytes\) must be a whole number/],
      [{ path: '/x', leaseSeconds: 0 }, /Lease \(s\) must be a whole number from 1 to 86400/],
      [{ path: '/x', recoverySeconds: 0.5 }, /Recovery every \(s\) must be a whole number from 1 to 3600/],
      [{ mode: 'mqtt', topic: 't' }, /Broker URL is empty/],
      [{ mode: 'mqtt', broker: 'http://b', topic: 't' }, /Broker URL must start with mqtt:\/\//],
      [{ mode: 'mqtt', broker: 'mqtt://u:secret@b', topic: 't' }, /must not contain a user name or password/],
      [{ mode: 'mqtt', broker: 'mqtt://b' }, /Topic is empty/],
      [{ mode: 'mqtt', broker: 'mqtt://b', topic: 'a/#/b' }, /# must be the whole last level/],
      [{ mode: 'mqtt', broker: 'mqtt://b', topic: 'a/b+' }, /\+ must fill a whole level/],
      [{ mode: 'mqtt', broker: 'mqtt://b', topic: '$share//a' }, /\$share\/<group>\/<topic>/],
    ];
    for (const [settings, message] of cases) {
      const error = errorOf(() => eventInSettings(settings, 'n'));
      expect(error).toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringMatching(message) });
      expect(error.message).not.toContain('secret@');
    }
  });
});
