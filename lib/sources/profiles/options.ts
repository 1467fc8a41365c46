/**
 * Profile options come from an editor dialog or a flow file, so their types are checked at run time:
 * a wrong option is a configuration error (CONFIG_INVALID) reported when the profile is created, not a
 * surprise on the first event.
 */
import { FinanceError } from '../../errors';
import { describe } from '../shape';

export function stringOption(profile: string, options: object, key: string, example: string): string | undefined {
  const value = (options as Record<string, unknown>)[key];
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string' || value.trim() === '') {
    throw invalid(profile, key, `a non-empty string such as "${example}"`, value);
  }
  return value.trim();
}

/** A map of strings to allowed values, e.g. expense type -> GL account; `allowed` limits the values. */
export function mapOption<V extends string>(
  profile: string,
  options: object,
  key: string,
  example: string,
  allowed?: readonly V[],
): Record<string, V> | undefined {
  const value = (options as Record<string, unknown>)[key];
  if (value === undefined) return undefined;
  const expectation = `an object of strings such as ${example}`;
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw invalid(profile, key, expectation, value);
  // No prototype, so a key such as "constructor" or "__proto__" is just a key.
  const map: Record<string, V> = Object.create(null);
  for (const [entryKey, entryValue] of Object.entries(value)) {
    const usable =
      typeof entryValue === 'string' &&
      entryValue !== '' &&
      (allowed === undefined || allowed.includes(entryValue as V));
    if (!usable) {
      const values = allowed === undefined ? '' : ` (allowed: ${allowed.join(', ')})`;
      throw invalid(profile, `${key}.${entryKey}`, `one of the expected values${values}`, entryValue);
    }
    map[entryKey] = entryValue as V;
  }
  return map;
}

export function choiceOption<V extends string>(
  profile: string,
  options: object,
  key: string,
  choices: readonly V[],
): V | undefined {
  const value = (options as Record<string, unknown>)[key];
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string' || !choices.includes(value as V)) {
    throw invalid(profile, key, `one of ${choices.join(', ')}`, value);
  }
  return value as V;
}

/**
 * A wrong option. The options are set in two places, so the message names both and the details say which
 * option of which profile: finance-map names its own *Profile options* field instead (lib/mapping/settings.ts).
 */
function invalid(profile: string, key: string, expectation: string, value: unknown): FinanceError {
  const problem = `must be ${expectation}, got ${describe(value)}`;
  return new FinanceError(
    'CONFIG_INVALID',
    `The ${profile} profile option "${key}" ${problem}. Fix it where the profile options are set: the Profile ` +
      'options of the finance-map node, or the finance-source configuration node.',
    { details: { profile, option: key, problem } },
  );
}
