/**
 * The finance-map dialog, checked once at deploy: which mapping, its options, the target document type and
 * the source status codes to normalise. A wrong setting is a CONFIG_INVALID error naming the field, reported
 * when the flow is deployed rather than on the first message.
 */
import { FinanceError, isFinanceError } from '../errors';
import { parseJsonSafely } from '../model/safe-json';
import { APPROVAL_STATE_TABLES, type StateSystem } from '../model/states';
import { getProfile, PROFILE_NAMES, type ProfileOptions } from '../sources/profiles';
import type { SourceProfile } from '../sources/profiles/profile';
import { MAPPED_DOC_TYPES, isMappedDocType } from './documents';
import type { MappingTarget } from './outcome';

export const MAPPINGS = [...PROFILE_NAMES, 'jsonata'] as const;
export type MappingName = (typeof MAPPINGS)[number];

export const STATE_SYSTEMS = Object.keys(APPROVAL_STATE_TABLES) as StateSystem[];

/** The dialog's fields as Node-RED hands them over. */
export interface MapDialogSettings {
  mapping?: string;
  expression?: string;
  profileOptions?: string;
  linesProperty?: string;
  itemizationsProperty?: string;
  allocationsProperty?: string;
  docType?: string;
  stateSystem?: string;
}

export type MapSettings =
  | { mapping: 'jsonata'; expression: string; target: MappingTarget }
  | {
      mapping: Exclude<MappingName, 'jsonata'>;
      profile: SourceProfile;
      /** Message property (without "msg.") holding the lines the source serves separately, if any. */
      linesProperty?: string;
      /** Message property (without "msg.") holding Concur's itemizations, if any. */
      itemizationsProperty?: string;
      /** Message property (without "msg.") holding Concur's allocations, if any. */
      allocationsProperty?: string;
      target: MappingTarget;
    };

function configInvalid(field: string, problem: string): FinanceError {
  return new FinanceError('CONFIG_INVALID', `${field} ${problem}. Fix it in the node's dialog.`, {
    details: { field },
  });
}

function mappingName(value: unknown): MappingName {
  const name = value === undefined || value === '' ? 'cloudevents' : value;
  if (typeof name !== 'string' || !(MAPPINGS as readonly string[]).includes(name)) {
    throw configInvalid('Mapping', `is "${String(name)}"; choose one of ${MAPPINGS.join(', ')}`);
  }
  return name as MappingName;
}

function target(settings: MapDialogSettings): MappingTarget {
  const docType = settings.docType === undefined || settings.docType === '' ? 'ExpenseReport' : settings.docType;
  if (docType !== 'auto' && !isMappedDocType(docType)) {
    throw configInvalid('Document type', `is "${docType}"; choose auto or one of ${MAPPED_DOC_TYPES.join(', ')}`);
  }
  const system = settings.stateSystem;
  if (system === undefined || system === '') return { docType };
  if (!(STATE_SYSTEMS as readonly string[]).includes(system)) {
    throw configInvalid('Source status codes', `is "${system}"; choose none or one of ${STATE_SYSTEMS.join(', ')}`);
  }
  return { docType, stateSystem: system as StateSystem };
}

function profileOptions(text: unknown): ProfileOptions {
  if (text === undefined || (typeof text === 'string' && text.trim() === '')) return {};
  let options: unknown;
  try {
    options = parseJsonSafely(String(text));
  } catch (error) {
    // The parser words its problems for a request body; the operator typed these options into the dialog.
    const { key, path } = (error as FinanceError).details ?? {};
    if (typeof key === 'string') {
      throw configInvalid('Profile options', `have a key "${key}" at ${String(path)}; rename or remove it`);
    }
    throw configInvalid('Profile options', `are not valid JSON (${(error as Error).message})`);
  }
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw configInvalid('Profile options', 'must be a JSON object such as { "costCenterField": "custom1" }');
  }
  return options as ProfileOptions;
}

/**
 * Profiles that take no options: what the (hidden) *Profile options* field still holds from another mapping is
 * ignored, not parsed, so it cannot fail a deploy. JSONata never reads it either.
 */
const PROFILES_WITHOUT_OPTIONS: readonly MappingName[] = ['cloudevents'];

/**
 * The profile with the dialog's options. A wrong option value is refused naming this node's *Profile options*
 * field, where it was typed, rather than the finance-source configuration the profile's own message also names.
 */
function profileOf(mapping: Exclude<MappingName, 'jsonata'>, text: unknown): SourceProfile {
  if (PROFILES_WITHOUT_OPTIONS.includes(mapping)) return getProfile(mapping);
  const options = profileOptions(text);
  try {
    return getProfile(mapping, options);
  } catch (error) {
    if (!isFinanceError(error) || error.code !== 'CONFIG_INVALID' || typeof error.details?.option !== 'string') {
      throw error;
    }
    const { option, problem } = error.details;
    // The profile's message ends with where to fix it ("Fix it in the source configuration."): replaced here.
    const what =
      typeof problem === 'string'
        ? `the ${mapping} profile option "${option}" ${problem}`
        : error.message
            .replace(/\s*Fix it\b[\s\S]*$/, '')
            .replace(/\.$/, '')
            .replace(/^The /, 'the ');
    throw new FinanceError(
      'CONFIG_INVALID',
      `Profile options: ${what}. Fix it in the Profile options of this finance-map node's dialog.`,
      { details: { field: 'Profile options', profile: mapping, option }, cause: error },
    );
  }
}

/** Where Concur expenses are read from unless the dialog says otherwise; an empty field means nowhere. */
export const DEFAULT_LINES_PROPERTY = 'payload.expenses';
/**
 * Where Concur itemizations and allocations are read from unless the dialog says otherwise, beside the expenses.
 * A node deployed before these settings existed has none and reads these, so it needs no migration: a flow that
 * does not fill them maps as before, and an itemized or allocated expense is still refused, now naming them.
 */
export const DEFAULT_ITEMIZATIONS_PROPERTY = 'payload.itemizations';
export const DEFAULT_ALLOCATIONS_PROPERTY = 'payload.allocations';

function messageProperty(value: unknown, fallback: string): string | undefined {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || value.trim() === '') return undefined;
  return value.trim().replace(/^msg\./, '');
}

export function mapSettings(settings: MapDialogSettings): MapSettings {
  const mapping = mappingName(settings.mapping);
  if (mapping === 'jsonata') {
    const expression = typeof settings.expression === 'string' ? settings.expression.trim() : '';
    if (expression === '') throw configInvalid('Expression', 'is empty; write the JSONata that builds the document');
    return { mapping, expression, target: target(settings) };
  }
  return {
    mapping,
    profile: profileOf(mapping, settings.profileOptions),
    linesProperty: messageProperty(settings.linesProperty, DEFAULT_LINES_PROPERTY),
    itemizationsProperty: messageProperty(settings.itemizationsProperty, DEFAULT_ITEMIZATIONS_PROPERTY),
    allocationsProperty: messageProperty(settings.allocationsProperty, DEFAULT_ALLOCATIONS_PROPERTY),
    target: target(settings),
  };
}
