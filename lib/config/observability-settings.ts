/** Turns the finance-audit and finance-metrics dialogs into settings, with clear errors for wrong values. */
import * as path from 'node:path';
import { FinanceError } from '../errors';
import { integerSetting, optionalText } from './settings';

export interface AuditDialogSettings {
  directory?: string;
  maxFileMb?: string | number;
  recordNodes?: boolean;
}

export interface AuditSettings {
  dir: string;
  maxFileBytes: number;
  /** Whether every node's outcomes are written (true), or only messages sent to the audit node. */
  recordNodes: boolean;
}

export function auditSettings(settings: AuditDialogSettings, userDir: string): AuditSettings {
  const configured = optionalText(settings.directory);
  return {
    // A relative directory is taken from the Node-RED user directory, like the finance store.
    dir: configured ? path.resolve(userDir, configured) : path.join(userDir, 'finance-sync', 'audit'),
    maxFileBytes:
      integerSetting(settings.maxFileMb, 'Rotate at (MB)', { min: 1, max: 10_000, fallback: 10 }) * 1024 * 1024,
    recordNodes: settings.recordNodes !== false,
  };
}

export interface MetricsDialogSettings {
  path?: string;
  access?: string;
  spendMaxAgeSeconds?: string | number;
}

export interface MetricsSettings {
  /** Without leading "/": under the admin root (/finance-metrics/<path>) or the flow HTTP root (/<path>). */
  path: string;
  access: 'admin' | 'public' | 'none';
  spendMaxAgeMs: number;
}

const PATH = /^[A-Za-z0-9._~-]+(\/[A-Za-z0-9._~-]+)*$/;

export function metricsSettings(settings: MetricsDialogSettings): MetricsSettings {
  const access = settings.access ?? 'admin';
  if (access !== 'admin' && access !== 'public' && access !== 'none') {
    throw new FinanceError(
      'CONFIG_INVALID',
      `Endpoint must be admin, public or none, not "${String(access)}". Fix it in the node's dialog.`,
      {
        details: { field: 'access' },
      },
    );
  }
  const configured = (optionalText(settings.path) ?? 'metrics').replace(/^\/+/, '');
  if (!PATH.test(configured) || configured.split('/').some((segment) => /^\.+$/.test(segment))) {
    throw new FinanceError(
      'CONFIG_INVALID',
      `Path "${configured}" is not a URL path; use letters, digits, "-", "_", "." and "/" such as "metrics". Fix it in the node's dialog.`,
      { details: { field: 'path' } },
    );
  }
  return {
    path: configured,
    access,
    spendMaxAgeMs:
      integerSetting(settings.spendMaxAgeSeconds, 'Read spend every (s)', { min: 1, max: 86_400, fallback: 60 }) * 1000,
  };
}
