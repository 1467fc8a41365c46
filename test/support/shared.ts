/**
 * The team's shared folder (vendor specs and notes) sits beside the checkout, both here and in CI's clean
 * clone; tests read the specs from there and never copy them into the repository.
 */
import * as path from 'node:path';

export const SHARED_DIR = path.resolve(__dirname, '..', '..', '..', 'shared');
export const SPECS_DIR = path.join(SHARED_DIR, 'specs');
