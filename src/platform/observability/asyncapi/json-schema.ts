import { getMetadataStorage } from 'class-validator';
import type { ValidationMetadata } from 'class-validator/types/metadata/ValidationMetadata';

// class-transformer keeps @Type() targets here; it has no public accessor for them.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { defaultMetadataStorage } = require('class-transformer/cjs/storage') as {
  defaultMetadataStorage: { findTypeMetadata(target: object, property: string): { typeFunction(): unknown } | undefined };
};

export type JsonSchema = Record<string, unknown>;
type Class = new () => object;

/** What one class-validator constraint says in JSON Schema; an unmapped one fails loudly. */
function constraint(m: ValidationMetadata): JsonSchema {
  const [first] = (m.constraints ?? []) as unknown[];
  switch (m.name ?? m.type) {
    case 'isString':
      return { type: 'string' };
    case 'isUuid':
      return { type: 'string', format: 'uuid' };
    case 'isEmail':
      return { type: 'string', format: 'email' };
    case 'isIso8601':
      return { type: 'string', format: 'date-time' };
    case 'matches':
      return { type: 'string', pattern: (first as RegExp).source };
    case 'minLength':
      return { minLength: first };
    case 'maxLength':
      return { maxLength: first };
    case 'isInt':
      return { type: 'integer' };
    case 'isNumber':
      return { type: 'number' };
    case 'isBoolean':
      return { type: 'boolean' };
    case 'min':
      return { minimum: first };
    case 'max':
      return { maximum: first };
    case 'isIn':
      return { enum: [...(first as unknown[])] };
    case 'isObject':
      return { type: 'object' };
    case 'isDefined':
      return {};
    default:
      throw new Error(`no JSON Schema mapping for class-validator "${m.name ?? m.type}"; add one in asyncapi/json-schema.ts`);
  }
}

const KEY_ORDER = ['$ref', 'type', 'format', 'enum', 'pattern', 'minLength', 'maxLength', 'minimum', 'maximum', 'minItems', 'maxItems', 'uniqueItems', 'items'];

/** Keywords in one reading order, whatever order the decorators were written in. */
const tidy = (schema: JsonSchema): JsonSchema =>
  Object.fromEntries(Object.entries(schema).sort(([a], [b]) => KEY_ORDER.indexOf(a) - KEY_ORDER.indexOf(b)));

const ARRAY_CONSTRAINTS: Record<string, string> = { arrayMinSize: 'minItems', arrayMaxSize: 'maxItems' };

/**
 * JSON Schemas of a class-validator class and of every class it nests, by class name, read from
 * the same metadata the consumers validate with (so the document says what is enforced).
 */
export function schemasOf(root: Class, into: Record<string, JsonSchema> = {}): Record<string, JsonSchema> {
  if (into[root.name]) return into;
  const properties: Record<string, JsonSchema> = {};
  const optional = new Set<string>();
  into[root.name] = { type: 'object' }; // placeholder against cycles
  const metadata = getMetadataStorage().getTargetValidationMetadatas(root, '', true, false);
  const byProperty = new Map<string, ValidationMetadata[]>();
  for (const m of metadata) byProperty.set(m.propertyName, [...(byProperty.get(m.propertyName) ?? []), m]);

  for (const [property, list] of byProperty) {
    const designType = Reflect.getMetadata('design:type', root.prototype, property) as unknown;
    const isArray = designType === Array || list.some((m) => m.each || m.name === 'isArray' || m.name! in ARRAY_CONSTRAINTS);
    const own: JsonSchema = isArray ? { type: 'array' } : {};
    const item: JsonSchema = {};
    for (const m of list) {
      if (m.type === 'conditionalValidation') {
        optional.add(property);
      } else if (m.type === 'nestedValidation') {
        const nested = defaultMetadataStorage.findTypeMetadata(root, property)?.typeFunction() as Class | undefined;
        if (!nested) throw new Error(`${root.name}.${property}: @ValidateNested needs @Type(() => Class)`);
        schemasOf(nested, into);
        Object.assign(isArray ? item : own, { $ref: `#/components/schemas/${nested.name}` });
      } else if (m.name && m.name in ARRAY_CONSTRAINTS) {
        own[ARRAY_CONSTRAINTS[m.name]] = (m.constraints as unknown[])[0];
      } else if (m.name === 'arrayUnique') {
        own.uniqueItems = true;
      } else if (m.name === 'isArray') {
        // the array type is already set
      } else {
        Object.assign(m.each ? item : own, constraint(m));
      }
    }
    properties[property] = tidy(isArray ? { ...own, items: tidy(item) } : own);
  }
  const required = [...byProperty.keys()].filter((p) => !optional.has(p));
  into[root.name] = { type: 'object', required, properties };
  return into;
}
