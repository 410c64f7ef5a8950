import { buildMessage, IS_EMAIL, isEmail, ValidateBy, ValidationOptions } from 'class-validator';

/** Half of a UTF-16 surrogate pair on its own: no character at all (JSON can spell one, `"\ud800"`). */
const UNPAIRED_SURROGATE = /\p{Cs}/u;

/** validator.js's isEmail with its defaults, false (instead of a thrown URIError) for a string with an unpaired surrogate. */
export function isEmailAddress(value: unknown): boolean {
  return typeof value === 'string' && !UNPAIRED_SURROGATE.test(value) && isEmail(value);
}

/**
 * class-validator's `@IsEmail()`, but for a string with an unpaired surrogate: isEmail throws a
 * URIError on one, which escaped as a 500 from POST /orders and parked such an event as undecodable
 * instead of naming the field.
 * It keeps IsEmail's name, default options and message, so the compiled contract check and the
 * AsyncAPI schema read it as `isEmail`.
 */
export function IsEmailAddress(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: IS_EMAIL,
      constraints: [undefined],
      validator: {
        validate: isEmailAddress,
        defaultMessage: buildMessage((each) => `${each}$property must be an email`, options),
      },
    },
    options,
  );
}
