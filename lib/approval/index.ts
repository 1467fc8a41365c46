/** The approval routing engine and its durable workflow: the finance-approval node imports them from here. */
export * from './matrix';
export * from './directory';
export * from './route';
export * from './delegation';
export * from './process';
export * from './timers';
export * from './store-timers';
export * from './directory-cache';
export * from './decision-input';
export * from './pending-approvals';
export * from './workflow';
export * from './settings';
