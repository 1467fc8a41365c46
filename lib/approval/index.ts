/** The approval routing engine: the finance-approval node imports it from here. */
export * from './matrix';
export * from './directory';
export * from './route';
export * from './delegation';
export * from './process';
export * from './timers';
