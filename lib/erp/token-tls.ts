/**
 * TLS towards the OAuth2 token endpoint. The connection's TLS settings are made for the ERP; the token endpoint is
 * often another host (an identity provider such as Entra ID), and it is the one that receives the client secret.
 * So a setting that only makes sense for the ERP's own host does not carry over to another host: turning
 * certificate checks off for an on-prem ERP with a self-signed certificate must not send the secret to a server
 * nobody checked.
 */
import { FinanceError } from '../errors';
import { withoutQuery, type ResolvedConnectionConfig, type TlsOptions } from './config';
import { CERTIFICATE_ERROR_CODES, transportCodeOf } from './http-errors';

/**
 * The TLS settings for the token endpoint. On the ERP's own host they are the ERP's, unchanged. On another host:
 * - certificate checks are on, whatever the ERP's setting; the configured CA still counts (the token agent
 *   trusts it besides the public roots), so an identity provider behind a private CA works once its CA is given;
 * - no server name: the one set for the ERP (its certificate's name when the base URL uses another) is no name of
 *   the identity provider's and would fail every token request;
 * - the client certificate and key are kept. A token endpoint may authenticate the client by it (mutual TLS,
 *   RFC 8705, as SAP BTP's X.509 credentials do); offering it shows only the public certificate, the key never
 *   leaves this host, and since the endpoint's certificate is now checked it is offered to the verified host only.
 */
export function tokenTls(tls: TlsOptions | undefined, config: ResolvedConnectionConfig): TlsOptions | undefined {
  if (tls === undefined || !tokenOnOtherHost(config)) return tls;
  return { ...tls, rejectUnauthorized: true, servername: undefined };
}

/** Whether the connection gets its tokens from another host than the ERP's. */
export function tokenOnOtherHost(config: ResolvedConnectionConfig): boolean {
  return config.auth.type === 'oauth2' && hostOf(config.auth.tokenUrl) !== hostOf(config.baseUrl);
}

/**
 * The token request failed because the token endpoint's certificate did not pass the checks: an ERP_AUTH_FAILED
 * that is not retryable and says what to do. The handshake failed before anything was sent, so the client secret
 * never left this host. Undefined for any other failure.
 */
export function errorForTokenCertificate(config: ResolvedConnectionConfig, error: unknown): FinanceError | undefined {
  const code = transportCodeOf(error);
  if (config.auth.type !== 'oauth2' || code === undefined || !CERTIFICATE_ERROR_CODES.has(code)) return undefined;
  const tokenUrl = withoutQuery(config.auth.tokenUrl);
  const checksOffForErp = config.tls?.rejectUnauthorized === false && tokenOnOtherHost(config);
  const why = checksOffForErp
    ? ` Certificate checks are off for the ERP, but that applies to the ERP's own host only: the token endpoint is on another host and receives the client secret, so its certificate is always checked.`
    : '';
  return new FinanceError(
    'ERP_AUTH_FAILED',
    `ERP connection "${config.name}": the certificate of the OAuth2 token endpoint ${tokenUrl} could not be verified (${code}), so the client credentials were not sent.${why} Add the CA certificate that issued the token endpoint's certificate to the connection's TLS settings, or correct the host name in the token URL. Retrying will not help.`,
    { retryable: false, details: { tokenUrl, transportCode: code } },
  );
}

function hostOf(url: string): string | undefined {
  try {
    return new URL(url).hostname.toLowerCase();
  } catch {
    return undefined;
  }
}
