/**
 * Turns the `finance-source` dialog (settings + credentials) into what intake and write-back need: the
 * profile with its options, the signature scheme, the secrets and the source API's connection. Every field
 * is checked once, at deploy, so a wrong setting is reported by name instead of failing on the first event.
 * The webhook secrets are checked apart (webhookSecrets): only an intake that verifies signatures needs them,
 * not one that polls the source's API or a write-back.
 */
import { FinanceError } from '../errors';
import { erpConnectionConfig } from '../config/erp-connection';
import { httpBaseUrl, integerSetting, optionalText } from '../config/settings';
import type { ErpConnectionConfig } from '../erp/client';
import { proxyFromDialog, type ProxyCredentials, type ProxyDialogSettings } from '../erp/proxy-settings';
import { getProfile, isProfileName, PROFILE_NAMES, type ProfileName, type ProfileOptions } from '../sources/profiles';
import type { SourceProfile } from '../sources/profiles/profile';
import {
  DEFAULT_TOLERANCE_SECONDS,
  isSignatureScheme,
  signPayload,
  SIGNATURE_SCHEMES,
  type SignatureScheme,
} from '../sources/signatures';

/** Auth types a source API offers for write-back (a subset of the ERP client's). */
export const SOURCE_API_AUTH_TYPES = ['none', 'bearer', 'oauth2'] as const;

/**
 * The source API's timeout and width when the dialog leaves them empty: the ERP connection's defaults.
 * A write-back waits for the whole timeout when the source hangs, holding one of the connection's slots, so a
 * source that hangs now and then needs a shorter timeout or a wider connection (see the node's help).
 */
export const DEFAULT_SOURCE_API_TIMEOUT_MS = 30_000;
export const DEFAULT_SOURCE_API_MAX_CONCURRENCY = 8;

export interface SourceDialogSettings extends ProxyDialogSettings {
  name?: string;
  profile?: string;
  /** Empty: the profile's own scheme. */
  signatureScheme?: string;
  toleranceSeconds?: string | number;
  /** The canonical (ERP) company the source's documents belong to (Concur, Ramp). */
  company?: string;
  /** Concur: report customData ids, e.g. "custom1". */
  costCenterField?: string;
  projectField?: string;
  employeeIdField?: string;
  /** Concur: JSON object expense type code -> GL account. */
  glAccountByExpenseType?: string;
  /** Concur: JSON object custom approval status code -> canonical state. */
  approvalStatusMap?: string;
  /** Ramp: employee_id | user_id | user_email. */
  employeeIdFrom?: string;
  /** Ramp: external_id | external_code. */
  dimensionKey?: string;
  apiBaseUrl?: string;
  apiAuthType?: string;
  tokenUrl?: string;
  scope?: string;
  /** How long one call to the source's API may take (ms); a call that hangs longer fails and is retried. */
  apiTimeoutMs?: string | number;
  /** Calls to the source's API at once, the connection's width. */
  apiMaxConcurrency?: string | number;
}

/** Secrets from Node-RED's credential store; they never travel in the flow JSON. */
export interface SourceCredentials extends ProxyCredentials {
  secret?: string;
  previousSecret?: string;
  token?: string;
  clientId?: string;
  clientSecret?: string;
}

export interface SourceSettings {
  profileName: ProfileName;
  profile: SourceProfile;
  signatureScheme: SignatureScheme;
  toleranceSeconds: number;
  /** The source API for write-back; undefined when no API base URL is set. */
  api?: ErpConnectionConfig;
}

export function sourceSettings(settings: SourceDialogSettings, credentials: SourceCredentials): SourceSettings {
  const profileName = optionalText(settings.profile) ?? 'cloudevents';
  if (!isProfileName(profileName)) {
    throw invalid('profile', `Profile "${profileName}" is not one of ${PROFILE_NAMES.join(', ')}.`);
  }
  const profile = getProfile(profileName, profileOptions(profileName, settings));
  const signatureScheme = schemeOf(settings.signatureScheme, profile);
  return {
    profileName,
    profile,
    signatureScheme,
    toleranceSeconds: integerSetting(settings.toleranceSeconds, 'Tolerance (s)', {
      min: 1,
      max: 86_400,
      fallback: DEFAULT_TOLERANCE_SECONDS,
    }),
    api: apiConfig(settings, credentials, profileName),
  };
}

/** Only the chosen profile's options: a Ramp setting left in the dialog must not reach the Concur profile. */
function profileOptions(profile: ProfileName, settings: SourceDialogSettings): ProfileOptions {
  const company = optionalText(settings.company);
  switch (profile) {
    case 'concur':
      return dropUndefined({
        company,
        costCenterField: optionalText(settings.costCenterField),
        projectField: optionalText(settings.projectField),
        employeeIdField: optionalText(settings.employeeIdField),
        glAccountByExpenseType: jsonObject(
          settings.glAccountByExpenseType,
          'glAccountByExpenseType',
          'GL account by expense type',
          '{"AIRFR": "6100"}',
        ),
        approvalStatusMap: jsonObject(
          settings.approvalStatusMap,
          'approvalStatusMap',
          'Custom approval statuses',
          '{"Z_PEND": "pending_approval"}',
        ),
      }) as ProfileOptions;
    case 'ramp':
      return dropUndefined({
        company,
        employeeIdFrom: optionalText(settings.employeeIdFrom),
        dimensionKey: optionalText(settings.dimensionKey),
      }) as ProfileOptions;
    case 'coupa':
      // Account segments and supplier mapping keep the profile's defaults until the dialog offers them.
      return dropUndefined({
        company,
        approvalStatusMap: jsonObject(
          settings.approvalStatusMap,
          'approvalStatusMap',
          'Custom approval statuses',
          '{"pending_buyer_action": "pending_approval"}',
        ),
      }) as ProfileOptions;
    case 'cloudevents':
      return {};
  }
}

function schemeOf(value: string | undefined, profile: SourceProfile): SignatureScheme {
  const scheme = optionalText(value);
  if (scheme === undefined || scheme === 'default') return profile.signatureScheme;
  if (!isSignatureScheme(scheme)) {
    throw invalid(
      'signatureScheme',
      `Signature scheme "${scheme}" is not one of ${SIGNATURE_SCHEMES.join(', ')}; choose one, or the profile's default.`,
    );
  }
  return scheme;
}

/**
 * The secrets an intake verifies signatures with: the current one first, then the previous one during a
 * rotation; none for the scheme "none". Throws CONFIG_INVALID naming the field when the scheme needs a secret
 * that is missing or cannot key it.
 */
export function webhookSecrets(scheme: SignatureScheme, credentials: SourceCredentials): string[] {
  const named: Array<[string, string | undefined]> = [
    ['Webhook secret', credentials.secret],
    ['Previous secret', credentials.previousSecret],
  ];
  const present = named.filter((entry): entry is [string, string] => typeof entry[1] === 'string' && entry[1] !== '');
  if (scheme === 'none') return [];
  if (present.length === 0 || present[0][0] !== 'Webhook secret') {
    throw invalid(
      'secret',
      `Webhook secret is empty, and the "${scheme}" signature scheme needs it: enter the sender's signing secret ` +
        '(it is kept in the credential store), or choose the scheme "none" only for a trusted upstream.',
    );
  }
  for (const [field, secret] of present) {
    try {
      // Signing an empty body derives the HMAC key: a secret that cannot key this scheme fails here, at deploy.
      signPayload(scheme, Buffer.alloc(0), secret);
    } catch {
      throw invalid(
        field === 'Webhook secret' ? 'secret' : 'previousSecret',
        `${field} is not valid for the "${scheme}" signature scheme: it must be base64, optionally prefixed ` +
          '"whsec_", exactly as the sender shows it. Copy it again from the sender.',
      );
    }
  }
  return present.map(([, secret]) => secret);
}

function apiConfig(
  settings: SourceDialogSettings,
  credentials: SourceCredentials,
  profileName: ProfileName,
): ErpConnectionConfig | undefined {
  if (optionalText(settings.apiBaseUrl) === undefined) return undefined;
  const baseUrl = httpBaseUrl(settings.apiBaseUrl, 'API base URL');
  const authType = optionalText(settings.apiAuthType) ?? 'none';
  if (!(SOURCE_API_AUTH_TYPES as readonly string[]).includes(authType)) {
    throw invalid('apiAuthType', `API authentication "${authType}" is not one of ${SOURCE_API_AUTH_TYPES.join(', ')}.`);
  }
  // Checked here, so a wrong value is reported with the source's own field name.
  const timeoutMs = integerSetting(settings.apiTimeoutMs, 'API timeout (ms)', {
    min: 100,
    max: 600_000,
    fallback: DEFAULT_SOURCE_API_TIMEOUT_MS,
  });
  const maxConcurrency = integerSetting(settings.apiMaxConcurrency, 'API requests at once', {
    min: 1,
    max: 100,
    fallback: DEFAULT_SOURCE_API_MAX_CONCURRENCY,
  });
  // Read here, so a wrong proxy field is reported with this node's name; the ERP dialog's fields are not used.
  const proxy = proxyFromDialog(settings, credentials, 'finance-source');
  const config = erpConnectionConfig(
    {
      name: `${optionalText(settings.name) ?? profileName} API`,
      // The client's "dialect" only labels the connection here: write-back speaks the source's API.
      dialect: profileName,
      baseUrl,
      authType,
      tokenUrl: settings.tokenUrl,
      scope: settings.scope,
      timeoutMs,
      maxConcurrency,
    },
    { token: credentials.token, clientId: credentials.clientId, clientSecret: credentials.clientSecret },
  );
  return { ...config, proxy };
}

function jsonObject(
  value: unknown,
  field: string,
  label: string,
  example: string,
): Record<string, unknown> | undefined {
  const text = optionalText(value);
  if (text === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw invalid(field, `${label} is not valid JSON; enter an object such as ${example}.`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw invalid(field, `${label} must be a JSON object such as ${example}.`);
  }
  return parsed as Record<string, unknown>;
}

function dropUndefined(values: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(values).filter(([, value]) => value !== undefined));
}

function invalid(field: string, message: string): FinanceError {
  return new FinanceError('CONFIG_INVALID', `${message} Fix it in the finance-source node.`, { details: { field } });
}
