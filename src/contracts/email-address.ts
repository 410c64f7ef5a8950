import { buildMessage, IS_EMAIL, isEmail, ValidateBy, ValidationOptions } from 'class-validator';

/**
 * What an address must not hold, though validator.js's isEmail takes it inside a quoted local part
 * (`"a\r\nBcc: x@evil.com"@example.com`): control characters (CR and LF included), half a UTF-16
 * surrogate pair on its own (JSON can spell one, `"\ud800"`; isEmail threw a URIError on it), and
 * the bidirectional controls that make an address read as another. Such an address was stored and
 * published, and the mail transport then refused it, so the customer's mails all failed.
 */
const NOT_IN_AN_ADDRESS = /[\p{Cc}\p{Cs}\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/u;

/** validator.js's isEmail with its defaults, less addresses with a character from NOT_IN_AN_ADDRESS (false, never a throw). */
export function isEmailAddress(value: unknown): boolean {
  return typeof value === 'string' && !NOT_IN_AN_ADDRESS.test(value) && isEmail(value);
}

/**
 * class-validator's `@IsEmail()`, but refusing what isEmailAddress refuses. (isEmail threw a
 * URIError on an unpaired surrogate, which escaped as a 500 from POST /orders and parked such an
 * event as undecodable instead of naming the field.)
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
