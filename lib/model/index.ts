/** The canonical model: types, money, currencies, approval states, validation and strict JSON parsing. */
export * from './types';
export * from './money';
export * from './currencies';
export * from './states';
export * from './validate';
export * from './safe-json';
export * from './schemas';
