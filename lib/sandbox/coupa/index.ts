/** The Coupa simulator inside the sandbox: its routes, and its part of GET /_sandbox/state and POST /_sandbox/reset. */
import type { SandboxState } from '../state';
import { coupaStoreOf } from './store';

export { COUPA_ROUTES } from './routes';
export { coupaStoreOf, CUSTOM_FIELDS, type CoupaCollection, type CoupaRecord, type CoupaStore } from './store';

export function coupaSnapshot(state: SandboxState): Record<string, unknown> {
  return coupaStoreOf(state).snapshot();
}

export function resetCoupa(state: SandboxState): void {
  coupaStoreOf(state).reset();
}
