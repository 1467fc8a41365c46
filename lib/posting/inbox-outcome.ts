/**
 * Recording an event's final outcome in the store's inbox (DESIGN section 7: an accepted event stays open
 * until it reaches one). The event is named by its envelope (msg.finance); a message that did not come
 * through the intake has none, and then there is nothing to finish.
 */
import { inboxKey, type FinanceStore, type InboxEntry } from '../reliability/store';
import { isRecord } from '../erp/records';

export async function finishInboxEvent(
  store: FinanceStore,
  envelope: unknown,
  outcome: { status: string; detail?: unknown },
): Promise<InboxEntry | undefined> {
  if (!isRecord(envelope) || typeof envelope.source !== 'string' || typeof envelope.id !== 'string') return undefined;
  return store.finish(inboxKey(envelope.source, envelope.id), outcome);
}
