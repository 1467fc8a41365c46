/**
 * Reads the vendors' published OData metadata (../shared/specs/, never copied into the pack) and checks what a
 * dialect sends and what a simulator answers against it. Both OData dialects are read:
 * - v4 CSDL (Business Central `$metadata`): EntityType / Property / NavigationProperty with a `Type`,
 *   EnumType members, EntitySets in the EntityContainer;
 * - v2 EDMX (SAP Gateway): NavigationProperty through Association roles, and the `sap:creatable`,
 *   `sap:updatable` property annotations (absent means true).
 * The files are machine output with one element per tag, so a small tag reader is enough; no XML library.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface EdmProperty {
  name: string;
  type: string;
  nullable: boolean;
  maxLength?: number;
  precision?: number;
  scale?: number;
  /** SAP v2 `sap:creatable`; undefined when the metadata does not say (Business Central). */
  creatable?: boolean;
  /** SAP v2 `sap:updatable`; undefined when the metadata does not say (Business Central). */
  updatable?: boolean;
}

export interface EdmNavigation {
  name: string;
  /** Qualified type of the target entity. */
  target: string;
  collection: boolean;
}

export interface EdmEntityType {
  name: string;
  qualifiedName: string;
  keys: string[];
  properties: Map<string, EdmProperty>;
  navigations: Map<string, EdmNavigation>;
}

export interface EdmModel {
  version: '2' | '4';
  entityTypes: Map<string, EdmEntityType>;
  /** Entity set name -> qualified entity type name. */
  entitySets: Map<string, string>;
  /** Qualified enum type name -> member names as they appear on the wire. */
  enums: Map<string, string[]>;
  /** Bound actions (v4) and function imports (v2) by name, with the entity types each is bound to. */
  operations: Map<string, Set<string>>;
}

export const SPECS_DIR = path.resolve(__dirname, '../../../shared/specs');

export function loadSpec(file: string): EdmModel {
  return parseEdmx(fs.readFileSync(path.join(SPECS_DIR, file), 'utf8'));
}

function attributes(tag: string): Record<string, string> {
  const result: Record<string, string> = {};
  for (const match of tag.matchAll(/([\w:.]+)="([^"]*)"/g)) result[match[1]] = match[2];
  return result;
}

function flag(value: string | undefined): boolean | undefined {
  return value === undefined ? undefined : value !== 'false';
}

function numberOrUndefined(value: string | undefined): number | undefined {
  return value === undefined || !/^\d+$/.test(value) ? undefined : Number(value);
}

export function parseEdmx(xml: string): EdmModel {
  const version = /<edmx:Edmx[^>]*Version="4\.0"/.test(xml) ? '4' : '2';
  const model: EdmModel = {
    version,
    entityTypes: new Map(),
    entitySets: new Map(),
    enums: new Map(),
    operations: new Map(),
  };
  const associations = new Map<string, Map<string, { type: string; many: boolean }>>();
  const pendingV2: Array<{ type: EdmEntityType; name: string; relationship: string; toRole: string }> = [];

  for (const schema of xml.matchAll(/<Schema\b([^>]*)>([\s\S]*?)<\/Schema>/g)) {
    const namespace = attributes(schema[1]).Namespace;
    const body = schema[2];
    for (const entity of body.matchAll(/<EntityType\b([^>]*)>([\s\S]*?)<\/EntityType>/g)) {
      const name = attributes(entity[1]).Name;
      const type: EdmEntityType = {
        name,
        qualifiedName: `${namespace}.${name}`,
        keys: [...(/<Key>([\s\S]*?)<\/Key>/.exec(entity[2])?.[1] ?? '').matchAll(/<PropertyRef\b([^>]*)\/>/g)].map(
          (ref) => attributes(ref[1]).Name,
        ),
        properties: new Map(),
        navigations: new Map(),
      };
      for (const property of entity[2].matchAll(/<Property\b([^>]*?)\/?>/g)) {
        const a = attributes(property[1]);
        type.properties.set(a.Name, {
          name: a.Name,
          type: a.Type,
          nullable: a.Nullable !== 'false',
          maxLength: numberOrUndefined(a.MaxLength),
          precision: numberOrUndefined(a.Precision),
          scale: numberOrUndefined(a.Scale),
          creatable: flag(a['sap:creatable']),
          updatable: flag(a['sap:updatable']),
        });
      }
      for (const navigation of entity[2].matchAll(/<NavigationProperty\b([^>]*?)\/?>/g)) {
        const a = attributes(navigation[1]);
        if (a.Type !== undefined) {
          const collection = /^Collection\((.*)\)$/.exec(a.Type);
          type.navigations.set(a.Name, {
            name: a.Name,
            target: collection ? collection[1] : a.Type,
            collection: collection !== null,
          });
        } else {
          pendingV2.push({ type, name: a.Name, relationship: a.Relationship, toRole: a.ToRole });
        }
      }
      model.entityTypes.set(type.qualifiedName, type);
    }
    for (const association of body.matchAll(/<Association\b([^>]*)>([\s\S]*?)<\/Association>/g)) {
      const roles = new Map<string, { type: string; many: boolean }>();
      for (const end of association[2].matchAll(/<End\b([^>]*?)\/?>/g)) {
        const a = attributes(end[1]);
        roles.set(a.Role, { type: a.Type, many: a.Multiplicity === '*' });
      }
      associations.set(`${namespace}.${attributes(association[1]).Name}`, roles);
    }
    for (const enumType of body.matchAll(/<EnumType\b([^>]*)>([\s\S]*?)<\/EnumType>/g)) {
      model.enums.set(
        `${namespace}.${attributes(enumType[1]).Name}`,
        [...enumType[2].matchAll(/<Member\b([^>]*?)\/?>/g)].map((member) => attributes(member[1]).Name),
      );
    }
    for (const set of body.matchAll(/<EntitySet\b([^>]*?)\/?>/g)) {
      const a = attributes(set[1]);
      model.entitySets.set(a.Name, a.EntityType);
    }
    for (const action of body.matchAll(/<Action\b([^>]*)>([\s\S]*?)<\/Action>/g)) {
      const binding = /<Parameter Name="bindingParameter" Type="([^"]*)"/.exec(action[2])?.[1];
      addOperation(model, attributes(action[1]).Name, binding);
    }
    for (const functionImport of body.matchAll(/<FunctionImport\b([^>]*?)\/?>/g)) {
      const a = attributes(functionImport[1]);
      addOperation(model, a.Name, a['sap:action-for']);
    }
  }
  for (const pending of pendingV2) {
    const end = associations.get(pending.relationship)?.get(pending.toRole);
    if (!end) throw new Error(`navigation ${pending.type.name}/${pending.name}: association not found`);
    pending.type.navigations.set(pending.name, { name: pending.name, target: end.type, collection: end.many });
  }
  return model;
}

function addOperation(model: EdmModel, name: string, binding: string | undefined): void {
  const bindings = model.operations.get(name) ?? new Set<string>();
  if (binding) bindings.add(binding);
  model.operations.set(name, bindings);
}

export function entityType(model: EdmModel, qualifiedName: string): EdmEntityType {
  const type = model.entityTypes.get(qualifiedName);
  if (!type) throw new Error(`entity type ${qualifiedName} is not in the metadata`);
  return type;
}

export function entityTypeOfSet(model: EdmModel, setName: string): EdmEntityType {
  const typeName = model.entitySets.get(setName);
  if (!typeName) throw new Error(`entity set ${setName} is not in the metadata`);
  return entityType(model, typeName);
}

/**
 * The entity type a resource path addresses: the first segment is an entity set, each further one a
 * navigation property of the type before it (`A_PurchaseOrder('1')/to_PurchaseOrderItem`). Key predicates
 * are dropped; a trailing bound operation (`Microsoft.NAV.post`) addresses no entity and yields undefined.
 */
export function entityTypeOfPath(model: EdmModel, segments: readonly string[]): EdmEntityType | undefined {
  let current: EdmEntityType | undefined;
  for (const raw of segments) {
    const name = raw.replace(/\(.*\)$/, '');
    if (current === undefined) {
      current = entityTypeOfSet(model, name);
      continue;
    }
    const navigation = current.navigations.get(name);
    if (!navigation) {
      const operation = name.split('.').pop() ?? name;
      if (model.operations.get(operation)?.has(current.qualifiedName)) return undefined;
      throw new Error(`${current.name} has no navigation property or bound operation ${name}`);
    }
    current = entityType(model, navigation.target);
  }
  return current;
}

export type WriteKind = 'create' | 'update';

export interface PayloadRules {
  /** Properties the vendor documents as read-only where the metadata does not say (Business Central). */
  readOnly?: ReadonlySet<string>;
  /** Property names that are not in the published metadata but documented elsewhere (named with why). */
  allowedExtra?: Readonly<Record<string, string>>;
}

/**
 * Every problem of a request body against the entity type: unknown properties, properties not creatable /
 * updatable, strings over MaxLength, and the same for deep-inserted entities behind navigation properties.
 */
export function payloadProblems(
  model: EdmModel,
  type: EdmEntityType,
  body: unknown,
  kind: WriteKind,
  rules: PayloadRules = {},
  where = type.name,
): string[] {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return [`${where}: body is not an object`];
  const problems: string[] = [];
  for (const [name, value] of Object.entries(body as Record<string, unknown>)) {
    if (name.startsWith('@') || name === '__metadata') continue;
    const property = type.properties.get(name);
    const navigation = type.navigations.get(name);
    if (navigation) {
      if (kind === 'update') problems.push(`${where}/${name}: navigation properties cannot be sent in an update`);
      const target = entityType(model, navigation.target);
      // OData v2 JSON wraps a deep-inserted collection in { results: [...] }.
      const items = Array.isArray(value)
        ? value
        : isResults(value)
          ? value.results
          : navigation.collection
            ? undefined
            : [value];
      if (!items) {
        problems.push(`${where}/${name}: a collection navigation needs an array (v4) or { results: [] } (v2)`);
        continue;
      }
      items.forEach((item, index) =>
        problems.push(...payloadProblems(model, target, item, 'create', rules, `${where}/${name}[${index}]`)),
      );
      continue;
    }
    if (!property) {
      if (rules.allowedExtra && name in rules.allowedExtra) continue;
      problems.push(`${where}/${name}: not a property of ${type.name}`);
      continue;
    }
    if (kind === 'create' && property.creatable === false) problems.push(`${where}/${name}: sap:creatable="false"`);
    if (kind === 'update' && property.updatable === false) problems.push(`${where}/${name}: sap:updatable="false"`);
    if (rules.readOnly?.has(name)) problems.push(`${where}/${name}: read-only (vendor documentation)`);
    if (kind === 'update' && type.keys.includes(name)) problems.push(`${where}/${name}: keys cannot be updated`);
    problems.push(...valueProblems(model, property, value, `${where}/${name}`));
  }
  return problems;
}

function isResults(value: unknown): value is { results: unknown[] } {
  return typeof value === 'object' && value !== null && Array.isArray((value as { results?: unknown }).results);
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const DATE_TIME_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;
const V2_DATE = /^\/Date\(-?\d+([+-]\d{4})?\)\/$/;

/** Problems of one value against its property: type, MaxLength, Precision/Scale, enum member. */
export function valueProblems(model: EdmModel, property: EdmProperty, value: unknown, where: string): string[] {
  if (value === null) return property.nullable ? [] : [`${where}: null for a non-nullable property`];
  const fail = (what: string) => [`${where}: ${JSON.stringify(value)} is not ${what} (${property.type})`];
  switch (property.type) {
    case 'Edm.String':
      if (typeof value !== 'string') return fail('a string');
      if (property.maxLength !== undefined && value.length > property.maxLength) {
        return [`${where}: ${value.length} characters, MaxLength is ${property.maxLength}`];
      }
      return [];
    case 'Edm.Guid':
      return typeof value === 'string' && GUID.test(value) ? [] : fail('a GUID');
    case 'Edm.Boolean':
      return typeof value === 'boolean' ? [] : fail('a boolean');
    case 'Edm.Int32':
    case 'Edm.Int64':
      return Number.isInteger(value) || (property.type === 'Edm.Int64' && typeof value === 'string')
        ? []
        : fail('an integer');
    case 'Edm.Decimal':
      return decimalProblems(model, property, value, where);
    case 'Edm.Date':
      return typeof value === 'string' && DATE.test(value) ? [] : fail('a date YYYY-MM-DD');
    case 'Edm.DateTimeOffset':
      return typeof value === 'string' && (DATE_TIME_OFFSET.test(value) || V2_DATE.test(value))
        ? []
        : fail('a date-time offset');
    case 'Edm.DateTime':
      return typeof value === 'string' && V2_DATE.test(value) ? [] : fail('an OData v2 /Date(ms)/ value');
    default: {
      const members = model.enums.get(property.type);
      if (members) return typeof value === 'string' && members.includes(value) ? [] : fail(`one of ${members}`);
      return [];
    }
  }
}

function decimalProblems(_model: EdmModel, property: EdmProperty, value: unknown, where: string): string[] {
  // v4 (BC) sends decimals as JSON numbers; v2 (SAP) as strings. Both must be plain decimals.
  const text = typeof value === 'number' ? String(value) : value;
  if (typeof text !== 'string' || !/^-?\d+(\.\d+)?$/.test(text)) {
    return [`${where}: ${JSON.stringify(value)} is not a decimal (${property.type})`];
  }
  const [whole, fraction = ''] = text.replace('-', '').split('.');
  const problems: string[] = [];
  if (property.scale !== undefined && fraction.length > property.scale) {
    problems.push(`${where}: ${fraction.length} decimals, Scale is ${property.scale}`);
  }
  if (property.precision !== undefined && property.scale !== undefined) {
    const wholeDigits = whole.replace(/^0+/, '').length;
    if (wholeDigits > property.precision - property.scale) {
      problems.push(`${where}: ${wholeDigits} integer digits, Precision ${property.precision} Scale ${property.scale}`);
    }
  }
  return problems;
}

/**
 * Problems of an entity as a simulator answered it: every property must exist on the type and hold a value
 * of its type; expanded navigation properties are checked against their target types.
 */
export function entityProblems(
  model: EdmModel,
  type: EdmEntityType,
  entity: unknown,
  where = type.name,
  allowedExtra: Readonly<Record<string, string>> = {},
): string[] {
  if (typeof entity !== 'object' || entity === null) return [`${where}: not an object`];
  const problems: string[] = [];
  for (const [name, value] of Object.entries(entity as Record<string, unknown>)) {
    if (name.startsWith('@odata.') || name === '__metadata' || name in allowedExtra) continue;
    const navigation = type.navigations.get(name);
    if (navigation) {
      const target = entityType(model, navigation.target);
      const items = Array.isArray(value) ? value : isResults(value) ? value.results : isDeferred(value) ? [] : [value];
      items.forEach((item, index) =>
        problems.push(...entityProblems(model, target, item, `${where}/${name}[${index}]`, allowedExtra)),
      );
      continue;
    }
    const property = type.properties.get(name);
    if (!property) problems.push(`${where}/${name}: not a property of ${type.name}`);
    else problems.push(...valueProblems(model, property, value, `${where}/${name}`));
  }
  for (const key of type.keys) {
    if (!(key in (entity as Record<string, unknown>))) problems.push(`${where}: key ${key} missing`);
  }
  return problems;
}

function isDeferred(value: unknown): boolean {
  return typeof value === 'object' && value !== null && '__deferred' in value;
}
