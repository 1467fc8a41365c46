/**
 * Node-RED settings for the demo host started by `npm start` (and for the end-to-end tests, which pass their
 * own port and user directory through the environment). Loopback only.
 */
'use strict';
module.exports = {
  uiHost: process.env.HOST || '127.0.0.1',
  uiPort: Number(process.env.PORT || 1880),
  flowFile: 'flows.json',
  flowFilePretty: true,
  // A fixed secret would be a secret in git; Node-RED generates one per user directory instead.
  logging: { console: { level: process.env.NODE_RED_LOG_LEVEL || 'info', metrics: false, audit: false } },
  editorTheme: { projects: { enabled: false }, tours: false },
  diagnostics: { enabled: false },
  telemetry: { enabled: false },
  externalModules: { autoInstall: false, palette: { allowInstall: false } },
  functionExternalModules: false,
};
