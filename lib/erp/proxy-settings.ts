/**
 * The "Proxy" fields of a connection dialog (finance-erp, and finance-source's API) as a ProxySetting. Both
 * dialogs have the same fields, so a proxy is set the same way for an ERP and for a source.
 */
import { FinanceError } from '../errors';
import { PROXY_MODES, parseProxyUrl, type ProxySetting } from './proxy';

export interface ProxyDialogSettings {
  /** 'environment' (also when missing: flows saved before the setting), 'none' or 'url'. */
  proxyMode?: string;
  proxyUrl?: string;
}

/** Kept in Node-RED's credential store, never in the flow JSON. */
export interface ProxyCredentials {
  proxyUsername?: string;
  proxyPassword?: string;
}

/** `node`: the node whose dialog holds the fields, for the "fix it in" of a message. */
export function proxyFromDialog(
  settings: ProxyDialogSettings,
  credentials: ProxyCredentials,
  node: string,
): ProxySetting {
  const mode = text(settings.proxyMode) ?? 'environment';
  if (!(PROXY_MODES as readonly string[]).includes(mode)) {
    throw invalid(`Proxy "${mode}" is not one of ${PROXY_MODES.join(', ')}.`, 'proxyMode', node);
  }
  if (mode !== 'url') return { mode: mode as 'environment' | 'none' };
  const url = text(settings.proxyUrl);
  if (url === undefined) {
    throw invalid('Proxy URL is empty: enter the proxy as http://host:port.', 'proxyUrl', node);
  }
  // The URL is kept in the flow file in clear; the credential fields are kept encrypted.
  if (/^[a-z][a-z0-9+.-]*:\/\/[^/]*@/i.test(url) || /^[^/]*@/.test(url)) {
    throw invalid(
      'Proxy URL holds a user name or password: put them in the Proxy user and Proxy password fields instead, which Node-RED keeps encrypted.',
      'proxyUrl',
      node,
    );
  }
  const username = text(credentials.proxyUsername);
  const password = credentials.proxyPassword === '' ? undefined : credentials.proxyPassword;
  if (password !== undefined && username === undefined) {
    throw invalid('Proxy password is set without a Proxy user: enter both, or neither.', 'proxyUsername', node);
  }
  try {
    parseProxyUrl(url, 'Proxy URL');
  } catch (error) {
    throw invalid((error as Error).message.replace(/^ERP connection proxy: /, ''), 'proxyUrl', node);
  }
  return { mode: 'url', url, ...(username !== undefined ? { username } : {}), ...(password ? { password } : {}) };
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

function invalid(message: string, field: string, node: string): FinanceError {
  return new FinanceError('CONFIG_INVALID', `${message} Fix it in the ${node} node.`, { details: { field } });
}
