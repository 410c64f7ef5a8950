import { EventPattern } from '@nestjs/microservices';
import { EventDefinition, EventType } from '../../contracts';
import { ModuleName } from '../config/environment';

/** The transport id of a module's Kafka server; handlers name it so only that server binds them. */
export function transportIdOf(module: ModuleName): symbol {
  return Symbol.for(`shop.kafka.${module}`);
}

/**
 * Makes a module's event-handler decorator: `const OnWarehouseEvent = moduleEventHandler('warehouse')`,
 * then `@OnWarehouseEvent(OrderPlaced)`. It binds the handler to the module's own consumer group only.
 */
export function moduleEventHandler(module: ModuleName) {
  return (definition: Pick<EventDefinition<EventType>, 'type'>): MethodDecorator =>
    EventPattern(definition.type, transportIdOf(module), { module });
}
