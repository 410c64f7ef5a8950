import { MODULE_METADATA } from '@nestjs/common/constants';
import { PATTERN_EXTRAS_METADATA, PATTERN_METADATA } from '@nestjs/microservices/constants';
import { FEATURE_MODULES } from '../../app.module';
import { MODULE_NAMES, ModuleName } from '../config/environment';
import { KafkaNaming } from '../kafka/kafka-naming';
import { MODULE_CONSUMES, moduleAccess, topicPlan } from './kafka-acls';

/** The event types a module's handlers subscribe to, read from their decorators. */
function handledTypes(module: ModuleName): string[] {
  const controllers = (Reflect.getMetadata(MODULE_METADATA.CONTROLLERS, FEATURE_MODULES[module]) ?? []) as (new () => object)[];
  const types = controllers.flatMap((controller) =>
    Object.getOwnPropertyNames(controller.prototype).flatMap((name) => {
      const method = (controller.prototype as Record<string, unknown>)[name];
      if (typeof method !== 'function') return [];
      const extras = Reflect.getMetadata(PATTERN_EXTRAS_METADATA, method) as { module?: string } | undefined;
      const patterns = (Reflect.getMetadata(PATTERN_METADATA, method) ?? []) as string[];
      return extras?.module === module ? patterns : [];
    }),
  );
  return [...new Set(types)].sort();
}

describe(moduleAccess.name, () => {
  it.each(MODULE_NAMES)('lets the %s principal read exactly the topics its handlers consume', (module) => {
    expect([...MODULE_CONSUMES[module]].sort()).toEqual(handledTypes(module));
  });

  it('lets the email principal write only its own retry and dead-letter topics, and read only order events and those', () => {
    const access = moduleAccess(new KafkaNaming('p.', 'g.'), 'email');
    expect(access).toMatchObject({
      principal: 'User:email',
      reads: ['p.order.placed', 'p.order.confirmed', 'p.order.rejected', 'p.order.cancelled', 'p.email.dlq'],
      writes: ['p.email.dlq'],
      retryPrefix: 'p.email.retry.',
      group: 'g.email',
    });
  });

  it('lets the warehouse principal write the events the contracts say it produces', () => {
    expect(moduleAccess(new KafkaNaming(), 'warehouse').writes.sort()).toEqual(
      ['product.upserted', 'stock.rejected', 'stock.released', 'stock.reserved', 'warehouse.dlq'],
    );
  });
});

describe(topicPlan.name, () => {
  const naming = new KafkaNaming('p.', 'p.');

  it("creates each module's first retry topic even without retry delays: the consumer subscribes to it, and redrives come back through it", () => {
    const plan = topicPlan(naming, ['email'], { partitions: 6, retryPartitions: 1, retryLevels: 0 });
    expect(plan).toContainEqual({ topic: 'p.email.retry.1', numPartitions: 1 });
    expect(plan.filter((t) => t.topic.includes('.retry.'))).toHaveLength(1);
  });

  it('creates the retry topics with their own partition count and the others with the event topics\' count', () => {
    const plan = topicPlan(naming, ['warehouse'], { partitions: 6, retryPartitions: 2, retryLevels: 2 });
    const partitionsOf = Object.fromEntries(plan.map((t) => [t.topic, t.numPartitions]));
    expect(partitionsOf).toMatchObject({ 'p.warehouse.retry.1': 2, 'p.warehouse.retry.2': 2, 'p.order.placed': 6, 'p.warehouse.dlq': 6 });
  });
});
