import { SPECS_DIR } from '../../support/shared';
import * as fs from 'fs';
import * as path from 'path';
import { FinanceError } from '../../../lib/errors';

/** The vendor specs live beside the checkout (../shared/specs); tests read them, the repo never copies them. */
export const CONCUR_SPECS = path.join(SPECS_DIR, 'concur');

export function readSpec(name: string): string {
  return fs.readFileSync(path.join(CONCUR_SPECS, name), 'utf8');
}

/** Runs `fn` and returns the FinanceError it throws; fails the test when it throws nothing or something else. */
export function financeErrorOf(fn: () => unknown): FinanceError {
  try {
    fn();
  } catch (err) {
    if (err instanceof FinanceError) return err;
    throw err;
  }
  throw new Error('expected a FinanceError, but nothing was thrown');
}
