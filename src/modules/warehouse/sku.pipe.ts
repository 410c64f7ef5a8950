import { BadRequestException, Injectable, PipeTransform } from '@nestjs/common';
import { SKU_PATTERN, SKU_RULE } from '../../contracts';

/** A SKU from a path: one that breaks the rule is a 400 with the rule, before it reaches SQL (Postgres refuses a NUL with an error). */
@Injectable()
export class SkuPipe implements PipeTransform<string, string> {
  transform(value: string): string {
    if (!SKU_PATTERN.test(value)) throw new BadRequestException(SKU_RULE);
    return value;
  }
}
