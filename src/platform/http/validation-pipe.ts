import { ArgumentMetadata, BadRequestException, ValidationError, ValidationPipe } from '@nestjs/common';

/** Every violation as a sentence with its path (`items.2.quantity must not be greater than 1000`). */
export function violations(errors: ValidationError[], parent = ''): string[] {
  return errors.flatMap((e) => {
    const path = parent ? `${parent}.${e.property}` : e.property;
    // Nest's default drops a parent's own constraints (e.g. "items must not repeat a sku") when
    // its children fail too; a client should see all of them at once.
    const own = Object.values(e.constraints ?? {}).map((m) => (parent ? `${parent}.${m}` : m));
    return [...own, ...violations(e.children ?? [], path)];
  });
}

/** A 400 listing what is wrong, in the shape every validation answer has. */
const badRequest = (message: string[]) => new BadRequestException({ statusCode: 400, error: 'Bad Request', message });

/**
 * Nest's ValidationPipe, but for a request body that is JSON `null` or missing where a DTO is
 * expected: Nest validates `{}` in its place, so a body of `null` meant "every field omitted" (for a
 * DLQ redrive: everything, poison included). Refused with a 400 instead.
 */
class StrictValidationPipe extends ValidationPipe {
  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type === 'body' && (value === null || value === undefined) && metadata.metatype && this.toValidate(metadata)) {
      throw badRequest(['the request body must be a JSON object']);
    }
    return super.transform(value, metadata);
  }
}

/** Strict DTOs: unknown fields rejected, no silent type coercion, a body that is not there refused, each violation named in the 400. */
export function strictValidationPipe(): ValidationPipe {
  return new StrictValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    transformOptions: { enableImplicitConversion: false },
    forbidUnknownValues: true,
    exceptionFactory: (errors) => badRequest(violations(errors)),
  });
}
