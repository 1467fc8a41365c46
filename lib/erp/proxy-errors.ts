/**
 * The pack's error for a tunnel through a forward proxy that could not be opened. Nothing reached the ERP or the
 * identity provider, so details.sent is false: a write can be retried without looking it up first. The proxy is
 * named by host and port; its credentials are never part of a message. The proxy's status stays in
 * details.proxyStatus, not httpStatus: that is the ERP's answer, which there was none of.
 */
import { FinanceError } from '../errors';
import type { ProxyTunnelError } from './proxy-agents';

/** `call`: what was being sent, as "GET /companies" or "the OAuth2 token request". */
export function errorForProxyTunnel(connection: string, call: string, error: ProxyTunnelError): FinanceError {
  const where = `ERP connection "${connection}"`;
  const details = { proxy: error.proxy, proxyStatus: error.status, transportCode: error.code, sent: false };
  if (error.kind === 'timeout') {
    return new FinanceError(
      'ERP_TIMEOUT',
      `${where}: ${error.message}, so ${call} was not sent. The call is retryable; if this keeps happening, check the proxy, or raise the connection's timeout if the proxy is just slow.`,
      { retryable: true, details },
    );
  }
  if (error.kind === 'unreachable') {
    return new FinanceError(
      'ERP_UNAVAILABLE',
      `${where}: ${error.message}, so ${call} was not sent. The call is retryable; if this keeps happening, check the connection's Proxy setting (or HTTPS_PROXY) and that the proxy is running.`,
      { retryable: true, details },
    );
  }
  if (error.status === 407) {
    return new FinanceError(
      'ERP_AUTH_FAILED',
      `${where}: the proxy ${error.proxy} asked for credentials (407 Proxy Authentication Required), so ${call} was not sent. Set the proxy's user name and password in the connection's Proxy settings (or in the proxy URL of HTTPS_PROXY), or check them.`,
      { retryable: false, details },
    );
  }
  const retryable = error.status !== undefined && error.status >= 500;
  const advice = retryable
    ? 'The call is retryable; the proxy could not reach the ERP just now.'
    : 'Retrying will not help: ask the proxy\'s administrators to allow this host, or send it straight with NO_PROXY or the Proxy setting "none".';
  return new FinanceError('ERP_UNAVAILABLE', `${where}: ${error.message}, so ${call} was not sent. ${advice}`, {
    retryable,
    details,
  });
}
