/**
 * The built-in source profiles by name, as the finance-source configuration node offers them. Options are
 * the profile's own (see each module); unknown option names are ignored, wrong values are CONFIG_INVALID.
 */
import { FinanceError } from '../../errors';
import { createCloudEventsProfile } from './cloudevents';
import { createConcurProfile, type ConcurProfileOptions } from './concur';
import { createCoupaProfile, type CoupaProfileOptions } from './coupa';
import type { SourceProfile } from './profile';
import { createRampProfile, type RampProfileOptions } from './ramp';

export const PROFILE_NAMES = ['cloudevents', 'concur', 'ramp', 'coupa'] as const;
export type ProfileName = (typeof PROFILE_NAMES)[number];

/** The options of every profile; each profile reads its own. */
export type ProfileOptions = ConcurProfileOptions & RampProfileOptions & CoupaProfileOptions;

export function isProfileName(value: unknown): value is ProfileName {
  return typeof value === 'string' && (PROFILE_NAMES as readonly string[]).includes(value);
}

export function getProfile(name: string, options: ProfileOptions = {}): SourceProfile {
  switch (name) {
    case 'cloudevents':
      return createCloudEventsProfile();
    case 'concur':
      return createConcurProfile(options);
    case 'ramp':
      return createRampProfile(options);
    case 'coupa':
      return createCoupaProfile(options);
    default:
      throw new FinanceError(
        'CONFIG_INVALID',
        `Unknown source profile "${name}". Choose one of: ${PROFILE_NAMES.join(', ')}.`,
        { details: { profile: name } },
      );
  }
}

export type { EventFacts, MappingContext, SourceDocType, SourceProfile, CanonicalDocument } from './profile';
export type { ConcurProfileOptions } from './concur';
export type { RampProfileOptions } from './ramp';
export type { CoupaProfile, CoupaProfileOptions, CoupaPurchaseOrderFacts } from './coupa';
