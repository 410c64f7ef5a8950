import { Injectable, ParseUUIDPipe, PipeTransform } from '@nestjs/common';

/**
 * An order id from a path: a uuid in any case, handed on in Postgres' text form (lower case), the
 * form every event, Kafka key and projection uses for the order.
 */
@Injectable()
export class OrderIdPipe implements PipeTransform<string, Promise<string>> {
  private readonly uuid = new ParseUUIDPipe();

  async transform(value: string): Promise<string> {
    return (await this.uuid.transform(value, { type: 'param' })).toLowerCase();
  }
}
