/**
 * What mosquitto (Debian's 2.x) does with the QoS 1 messages of a shared-subscription member that dies, measured
 * against a broker of the test's own. The deployment guide in the README and the client settings of
 * finance-event-in (fixed client id per host, clean start off, a session expiry) rest on these facts, so a
 * broker that behaves otherwise fails this test:
 *
 * 1. The group hands messages out in turn, each to one member, at publish time, also to a member whose
 *    session is kept while it is away: those messages wait in that member's session, not for the others.
 * 2. When the member comes back with the same client id and clean start off, it gets all of them: the ones
 *    it had received but not acknowledged again (DUP set), then the ones queued while it was away.
 * 3. When its session expires instead, its messages are dropped, not given to the other members.
 *
 * So with mosquitto a message is never delivered to two members, and a dead host's share is only delivered
 * when a process with its client id connects again (the host restarted, or a stand-in with the same id).
 */
import { fork, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { connect, type IPublishPacket } from 'mqtt';
import { waitFor } from '../support/processes';
import { startMosquitto, type TestBroker } from './services';

/** A member in a child process, so it can be killed with SIGKILL (no DISCONNECT reaches the broker). */
const MEMBER = `
const mqtt = require(${JSON.stringify(require.resolve('mqtt'))});
const [url, clientId, expiry, group] = process.argv.slice(2);
const client = mqtt.connect(url, { clientId, clean: false, protocolVersion: 5, reconnectPeriod: 0,
  properties: { sessionExpiryInterval: Number(expiry) } });
// Never acknowledges: what it received stays in flight, as on a host that dies before its commit.
client.handleMessage = (packet) => process.send({ got: String(packet.payload) });
client.on('connect', (ack) => {
  if (ack.sessionPresent) process.send({ ready: true });
  else client.subscribe('$share/' + group + '/t', { qos: 1 }, () => process.send({ ready: true }));
});
`;

interface Member {
  id: string;
  got: string[];
  dup: number;
  child?: ChildProcess;
  stop(): void;
}

describe('mosquitto shared subscriptions when a member dies (measured)', () => {
  let broker: TestBroker;
  const script = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'finance-share-')), 'member.js');
  const members: Member[] = [];

  beforeAll(async () => {
    broker = await startMosquitto();
    fs.writeFileSync(script, MEMBER);
  });
  afterAll(async () => {
    for (const member of members) member.stop();
    await broker.stop();
    fs.rmSync(path.dirname(script), { recursive: true, force: true });
  });

  /** A member that never acknowledges (in a child process). */
  async function deadlyMember(id: string, expirySeconds: number, group: string): Promise<Member> {
    const child = fork(script, [broker.url, id, String(expirySeconds), group], { stdio: 'ignore' });
    const member: Member = { id, got: [], dup: 0, child, stop: () => child.kill('SIGKILL') };
    members.push(member);
    await new Promise<void>((resolve) =>
      child.on('message', (message: { ready?: boolean; got?: string }) => {
        if (message.ready) resolve();
        if (message.got) member.got.push(message.got);
      }),
    );
    return member;
  }

  /** A member that acknowledges everything, in this process. */
  async function healthyMember(id: string, group: string): Promise<Member> {
    const member: Member = { id, got: [], dup: 0, stop: () => client.end(true) };
    const client = connect(broker.url, {
      clientId: id,
      clean: false,
      protocolVersion: 5,
      properties: { sessionExpiryInterval: 3600 },
    });
    client.handleMessage = (packet: IPublishPacket, done: () => void) => {
      member.got.push(String(packet.payload));
      if (packet.dup) member.dup += 1;
      done();
    };
    members.push(member);
    await new Promise<void>((resolve) =>
      client.once('connect', (ack) => {
        if (ack.sessionPresent) resolve();
        else client.subscribe(`$share/${group}/t`, { qos: 1 }, () => resolve());
      }),
    );
    return member;
  }

  async function publish(from: number, to: number): Promise<void> {
    const client = connect(broker.url, { protocolVersion: 5 });
    await new Promise<void>((resolve) => client.once('connect', () => resolve()));
    for (let i = from; i < to; i++) await client.publishAsync('t', `${i}`, { qos: 1 });
    await client.endAsync();
  }

  const settle = () => new Promise((resolve) => setTimeout(resolve, 1500));

  it('keeps a dead member’s share for it and gives it all back when it returns with its client id', async () => {
    const dying = await deadlyMember('keep-a', 3600, 'keep');
    const healthy = await healthyMember('keep-b', 'keep');
    await publish(0, 100);
    await settle();
    expect(healthy.got).toHaveLength(50); // one by one, in turn

    dying.stop(); // kill -9: no DISCONNECT, the session stays
    await settle();
    await publish(100, 200);
    await settle();
    // The dead member still gets its turn: the healthy one receives only half of the new messages.
    expect(healthy.got).toHaveLength(100);

    const back = await healthyMember('keep-a', 'keep');
    await waitFor('the returning member to get its share', async () => (back.got.length >= 100 ? true : undefined));
    expect(back.got).toHaveLength(100);
    expect(back.dup).toBeGreaterThan(0); // the ones it had received before it died come again, marked DUP
    expect(new Set([...back.got, ...healthy.got]).size).toBe(200); // every message to exactly one member
    back.stop();
    healthy.stop();
  });

  it('drops a dead member’s share when its session expires, instead of giving it to the others', async () => {
    const dying = await deadlyMember('expire-a', 2, 'expire');
    const healthy = await healthyMember('expire-b', 'expire');
    await publish(0, 100);
    await settle();
    dying.stop();
    await publish(100, 200);
    await new Promise((resolve) => setTimeout(resolve, 4000)); // the session expires
    await publish(200, 300);
    await settle();

    const back = await healthyMember('expire-a', 'expire');
    await settle();
    expect(back.got).toHaveLength(0); // a new session: nothing kept
    // What the dead member had been given never reaches the healthy one: it is gone with the session.
    expect(healthy.got.filter((payload) => Number(payload) < 100)).toHaveLength(50);
    expect(healthy.got.filter((payload) => Number(payload) >= 200)).toHaveLength(100);
    expect(healthy.got.length).toBeLessThan(300 - 50);
    back.stop();
    healthy.stop();
  });
});
