import { plainToInstance, TransformationType } from 'class-transformer';
import { getMetadataStorage, IS_EMAIL, IS_ISO8601, MATCHES, MAX_LENGTH, MIN_LENGTH, ValidationArguments, ValidationTypes, validateSync } from 'class-validator';
import type { ValidationMetadata } from 'class-validator/types/metadata/ValidationMetadata';

// class-transformer's own metadata (@Type and friends) is not exported from its entry point.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { defaultMetadataStorage } = require('class-transformer/cjs/storage') as typeof import('class-transformer/types/storage');

/** True when `value` certainly passes the class's rules; false means "ask class-validator". */
export type FastCheck = (value: unknown) => boolean;

type Rule = (value: unknown, object: Record<string, unknown>) => boolean;

interface PropertyRules {
  name: string;
  /** @IsOptional / @ValidateIf: the property's rules apply only when every condition holds. */
  conditions: ((object: Record<string, unknown>, value: unknown) => boolean)[];
  rules: Rule[];
}

const compiled = new Map<Function, FastCheck>();

/**
 * Compiles the class-validator rules of a contract class, once, into a plain function over the
 * JSON-parsed value: no class-transformer instance, no ValidationError objects. It calls the very
 * validator functions the decorators registered (`isUUID`, `isEmail`, `matches`, ... with the
 * decorator's constraints), so the rules have one source: the contract class.
 *
 * It is one-sided by design: `true` only when the value certainly passes; anything it is unsure
 * of (a type class-transformer would convert, a decorator it does not know) answers `false`, and
 * the caller then runs class-validator itself for the verdict and its messages. A property test
 * holds it to that: it never accepts what class-validator rejects.
 */
export function compileContract(cls: Function): FastCheck {
  let check = compiled.get(cls);
  if (!check) {
    check = build(cls);
    compiled.set(cls, check);
  }
  return check;
}

function build(cls: Function): FastCheck {
  // Classes with class-transformer rules beyond @Type (renames, exclusions, transforms) keep the slow path.
  if (defaultMetadataStorage.getStrategy(cls) !== 'none' || defaultMetadataStorage.getExposedMetadatas(cls).length > 0) return () => false;
  const metadatas = getMetadataStorage().getTargetValidationMetadatas(cls, '', false, false);
  const byProperty = new Map<string, PropertyRules>();
  for (const m of metadatas) {
    const property = byProperty.get(m.propertyName) ?? { name: m.propertyName, conditions: [], rules: [] };
    byProperty.set(m.propertyName, property);
    if (m.groups?.length || defaultMetadataStorage.findTransformMetadatas(cls, m.propertyName, TransformationType.PLAIN_TO_CLASS).length > 0) {
      return () => false;
    }
    const rule = ruleOf(cls, m, property);
    if (rule === undefined) return () => false;
    if (rule) property.rules.push(rule);
  }
  const properties = [...byProperty.values()];
  return (value) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
    const object = value as Record<string, unknown>;
    // Index loops and no closure per call: this runs for every consumed event (see bench:decode's scavenges).
    properties: for (let i = 0; i < properties.length; i++) {
      const { name, conditions, rules } = properties[i];
      const v = object[name];
      for (let c = 0; c < conditions.length; c++) if (!conditions[c](object, v)) continue properties;
      for (let r = 0; r < rules.length; r++) if (!rules[r](v, object)) return false;
    }
    return true;
  };
}

/** The rule of one decorator; null when it adds none here, undefined when it is not understood. */
function ruleOf(cls: Function, m: ValidationMetadata, property: PropertyRules): Rule | null | undefined {
  switch (m.type) {
    case ValidationTypes.IS_DEFINED:
      return (v) => v !== undefined && v !== null;
    case ValidationTypes.CONDITIONAL_VALIDATION:
      if (!m.constraints?.[0] || typeof m.constraints[0] !== 'function') return undefined;
      property.conditions.push(m.constraints[0] as (o: Record<string, unknown>, v: unknown) => boolean);
      return null;
    case ValidationTypes.WHITELIST:
      return null;
    case ValidationTypes.NESTED_VALIDATION: {
      const type = defaultMetadataStorage.findTypeMetadata(cls, m.propertyName);
      const nestedCls = type?.typeFunction?.() as Function | undefined;
      if (!nestedCls || type.options?.discriminator) return undefined;
      let check: FastCheck | undefined; // compiled on first use: a contract may nest its own class
      const nested = (v: unknown) => (check ??= compileContract(nestedCls))(v);
      // class-validator validates each element of an array, each: true or not.
      return (v) => (Array.isArray(v) ? v.every(nested) : nested(v));
    }
    case ValidationTypes.CUSTOM_VALIDATION: {
      const constraints = getMetadataStorage().getTargetValidatorConstraints(m.constraintCls);
      if (constraints.length !== 1 || constraints[0].async) return undefined;
      const validator = constraints[0].instance as { validate(value: unknown, args: ValidationArguments): unknown };
      const primitive = defaultMetadataStorage.findTypeMetadata(cls, m.propertyName);
      const fast = fastAccept(m);
      // One arguments object per rule, filled in per call (validators run synchronously and keep nothing).
      const args: ValidationArguments = { targetName: cls.name, property: m.propertyName, object: {}, value: undefined, constraints: m.constraints };
      const one = (v: unknown, object: Record<string, unknown>) => {
        // @Type(() => Number) and the like convert before validating: only a value the conversion
        // leaves unchanged is judged here.
        if (primitive && !judgedAsIs(primitive.typeFunction?.(), v)) return false;
        if (fast?.(v)) return true;
        args.object = object;
        args.value = v;
        return validator.validate(v, args) === true;
      };
      if (!m.each) return one;
      return (v, object) => Array.isArray(v) && v.every((item) => one(item, object));
    }
    default:
      return undefined;
  }
}

/**
 * Cheaper accepts for the costliest validators, for the form our producers write: an instant as
 * `Date#toISOString` writes it, a plain address, a length counted in plain characters. One-sided like
 * the rest (a property test holds each to it against validator.js): what they do not accept goes to
 * the validator itself.
 */
function fastAccept(m: ValidationMetadata): ((v: unknown) => boolean) | undefined {
  if (m.name === IS_ISO8601) return isCanonicalInstant; // passes every isISO8601 option (strict, strictSeparator)
  if (m.name === IS_EMAIL && m.constraints?.[0] === undefined) return isPlainEmail; // default options only
  const bound = m.constraints?.[0];
  // validator.js' matches() runs String#match (an array per call); test() gives the same verdict for a
  // RegExp without the global or sticky flag, which would make either depend on lastIndex.
  if (m.name === MATCHES && bound instanceof RegExp && !bound.global && !bound.sticky) return (v) => typeof v === 'string' && bound.test(v);
  if (m.name === MIN_LENGTH && typeof bound === 'number') return (v) => hasMinLength(v, bound);
  if (m.name === MAX_LENGTH && typeof bound === 'number') return (v) => hasMaxLength(v, bound);
  return undefined;
}

/** Code units validator.js' isLength may count as less than one character each: surrogates, variation selectors. */
const NOT_ONE_CHARACTER = /[\uD800-\uDFFF\uFE0E\uFE0F]/;

/**
 * At least `min` characters as validator.js' isLength counts them. It subtracts one per surrogate pair
 * and per variation sequence, found with two global matches (two arrays per call, and four
 * @MinLength rules on every envelope); a string without those units is simply its length.
 */
export function hasMinLength(v: unknown, min: number): boolean {
  return typeof v === 'string' && v.length >= min && !NOT_ONE_CHARACTER.test(v);
}

/** At most `max` characters as validator.js' isLength counts them: never more than the string's length. */
export function hasMaxLength(v: unknown, max: number): boolean {
  return typeof v === 'string' && v.length <= max;
}

const CANONICAL_INSTANT = /^[1-9]\d{3}-[01]\d-[0-3]\dT[0-2]\d:[0-5]\d:[0-5]\d\.\d{3}Z$/;

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** `YYYY-MM-DDTHH:mm:ss.sssZ` (years 1000-9999) naming a real instant: a calendar day, an hour below 24. */
export function isCanonicalInstant(v: unknown): boolean {
  if (typeof v !== 'string' || !CANONICAL_INSTANT.test(v)) return false;
  // Fixed positions, checked by the pattern above (Date.parse cost more than the rest of the check).
  const year = Number(v.slice(0, 4));
  const month = Number(v.slice(5, 7));
  const day = Number(v.slice(8, 10));
  if (month < 1 || month > 12 || day < 1 || Number(v.slice(11, 13)) > 23) return false;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return day <= (month === 2 && leap ? 29 : DAYS_IN_MONTH[month - 1]);
}

// Dot-separated atoms of letters, digits and `_+-` before the @; hostname labels (letters, digits,
// inner hyphens, at most 63) and an alphabetic top-level domain after it.
const PLAIN_EMAIL = /^[a-z0-9_+-]+(?:\.[a-z0-9_+-]+)*@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i;

/** An address in the plain subset of what validator.js's isEmail accepts with its defaults (lengths included). */
export function isPlainEmail(v: unknown): boolean {
  if (typeof v !== 'string' || v.length > 254 || !PLAIN_EMAIL.test(v)) return false;
  return v.indexOf('@') <= 64;
}

/** Whether class-transformer's conversion to `type` (from @Type) leaves `v` as it is for the rules. */
function judgedAsIs(type: unknown, v: unknown): boolean {
  if (type === Number) return typeof v === 'number';
  if (type === String) return typeof v === 'string';
  if (type === Boolean) return typeof v === 'boolean';
  if (type === Date || typeof type !== 'function') return false;
  // A class: objects become instances with the same own properties, arrays stay arrays.
  return true;
}

/**
 * Validates a JSON-parsed value against a contract class: the compiled check when it certainly
 * passes (the value is returned as it is), class-transformer + class-validator otherwise (for the
 * conversion, the verdict and the failing properties).
 */
export function validateContract<T extends object>(cls: new () => T, raw: unknown): { value: T; failed: string[] } {
  if (compileContract(cls)(raw)) return { value: raw as T, failed: [] };
  const value = plainToInstance(cls, raw);
  const errors = validateSync(value as object, { forbidUnknownValues: false });
  return { value, failed: errors.map((e) => e.property) };
}
