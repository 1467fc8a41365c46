import type { Node, NodeStatus } from 'node-red';
import { clearStatus, showStatus, STATUS_RATE } from '../../nodes/shared/status';

/** A node whose status() records what Node-RED would have been told. */
function fakeNode(): { node: Node; shown: NodeStatus[]; close: () => void } {
  const shown: NodeStatus[] = [];
  const onClose: Array<() => void> = [];
  const node = {
    status: (status: NodeStatus) => shown.push(status),
    on: (event: string, listener: () => void) => event === 'close' && onClose.push(listener),
  } as unknown as Node;
  return { node, shown, close: () => onClose.forEach((listener) => listener()) };
}

const busy: NodeStatus = { fill: 'blue', shape: 'dot', text: 'mapping' };
const valid: NodeStatus = { fill: 'green', shape: 'dot', text: 'valid' };
const failed: NodeStatus = { fill: 'red', shape: 'ring', text: 'ERP_UNAVAILABLE' };

describe('node status at a rate an editor can follow', () => {
  beforeEach(() => jest.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => jest.useRealTimers());

  it("shows a single message's busy and final status at once", () => {
    const { node, shown } = fakeNode();
    showStatus(node, busy);
    showStatus(node, valid);
    expect(shown).toEqual([busy, valid]);
  });

  it('shows a stream of changes at the rate, and ends on the latest change', () => {
    const { node, shown } = fakeNode();
    // 2,000 changes in one second: busy, then the outcome, for 1,000 messages, the last one failing.
    for (let message = 0; message < 1000; message += 1) {
      showStatus(node, busy);
      showStatus(node, message === 999 ? failed : { ...valid, text: `valid ${message}` });
      jest.advanceTimersByTime(1);
    }
    expect(shown.length).toBeLessThanOrEqual(STATUS_RATE.burst + STATUS_RATE.perSecond + 1);
    jest.advanceTimersByTime(1000);
    expect(shown.at(-1)).toEqual(failed);
    // Nothing more comes once the latest change is shown.
    const count = shown.length;
    jest.advanceTimersByTime(10_000);
    expect(shown.length).toBe(count);
  });

  it('does not show the status that is already shown again, and drops a change that was undone', () => {
    const { node, shown } = fakeNode();
    for (let i = 0; i < 10; i += 1) showStatus(node, { ...valid });
    expect(shown).toEqual([valid]);
    for (let i = 0; i < STATUS_RATE.burst - 1; i += 1) showStatus(node, { ...valid, text: `valid ${i}` });
    showStatus(node, busy); // waits: the burst is spent
    showStatus(node, { ...valid, text: `valid ${STATUS_RATE.burst - 2}` }); // back to what is shown
    jest.advanceTimersByTime(10_000);
    expect(shown.at(-1)).toEqual({ ...valid, text: `valid ${STATUS_RATE.burst - 2}` });
    expect(shown).not.toContainEqual(busy);
  });

  it('clears at once when the node closes, and shows nothing that was waiting', () => {
    const { node, shown } = fakeNode();
    for (let i = 0; i < STATUS_RATE.burst; i += 1) showStatus(node, { ...valid, text: `valid ${i}` });
    showStatus(node, busy);
    clearStatus(node);
    expect(shown.at(-1)).toEqual({});
    jest.advanceTimersByTime(10_000);
    expect(shown.at(-1)).toEqual({});
    expect(shown).not.toContainEqual(busy);
  });

  it('shows nothing that was waiting once the node has closed (its redeployed successor has the same id)', () => {
    const { node, shown, close } = fakeNode();
    for (let i = 0; i < STATUS_RATE.burst; i += 1) showStatus(node, { ...valid, text: `valid ${i}` });
    showStatus(node, busy);
    close();
    jest.advanceTimersByTime(10_000);
    expect(shown).toHaveLength(STATUS_RATE.burst);
    expect(shown).not.toContainEqual(busy);
  });

  it('counts each node on its own', () => {
    const first = fakeNode();
    const second = fakeNode();
    for (let i = 0; i < 20; i += 1) showStatus(first.node, { ...valid, text: `valid ${i}` });
    showStatus(second.node, busy);
    expect(second.shown).toEqual([busy]);
    expect(first.shown.length).toBe(STATUS_RATE.burst);
  });
});
