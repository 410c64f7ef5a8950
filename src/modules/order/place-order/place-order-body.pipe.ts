import { ArgumentMetadata, Injectable, PipeTransform, ValidationPipe } from '@nestjs/common';
import { strictValidationPipe } from '../../../platform/http/validation-pipe';
import { PlaceOrderDto } from './place-order.dto';
import { isEmailAddress, SKU_PATTERN } from '../../../contracts';

/** What POST /orders accepts, once validated (the shape of PlaceOrderDto, as plain data). */
export type PlaceOrderInput = Pick<PlaceOrderDto, 'customerEmail' | 'items'>;

const isPlain = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype;

/**
 * The POST /orders body, validated without class-transformer on the common path
 * (docs/performance.md: the DTO pipe cost most of the accept path's CPU).
 *
 * A body this check accepts is one PlaceOrderDto would accept (a property test holds them in
 * step); anything else goes through the strict ValidationPipe with PlaceOrderDto, so every 400 and
 * its messages stay exactly as they were.
 */
@Injectable()
export class PlaceOrderBodyPipe implements PipeTransform<unknown, PlaceOrderInput | Promise<PlaceOrderInput>> {
  private readonly strict: ValidationPipe = strictValidationPipe();

  transform(value: unknown, metadata: ArgumentMetadata): PlaceOrderInput | Promise<PlaceOrderInput> {
    // Synchronous on the common path: no promise, no class instances.
    return acceptPlaceOrder(value) ?? (this.strict.transform(value, { ...metadata, metatype: PlaceOrderDto }) as Promise<PlaceOrderInput>);
  }
}

/** The body as plain data when it is valid as it stands; undefined when it needs the full check. */
export function acceptPlaceOrder(v: unknown): PlaceOrderInput | undefined {
  if (!isPlain(v) || Object.keys(v).length !== 2) return undefined;
  const { customerEmail, items } = v;
  if (typeof customerEmail !== 'string' || customerEmail.length > 254 || !isEmailAddress(customerEmail)) return undefined;
  if (!Array.isArray(items) || items.length < 1 || items.length > 100) return undefined;
  const skus = new Set<string>();
  const out: PlaceOrderInput['items'] = [];
  for (const item of items) {
    if (!isPlain(item) || Object.keys(item).length !== 2) return undefined;
    const { sku, quantity } = item;
    if (typeof sku !== 'string' || !SKU_PATTERN.test(sku) || skus.has(sku)) return undefined;
    if (typeof quantity !== 'number' || !Number.isInteger(quantity) || quantity < 1 || quantity > 1000) return undefined;
    skus.add(sku);
    out.push({ sku, quantity });
  }
  return { customerEmail, items: out };
}
