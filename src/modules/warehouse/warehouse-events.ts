import { moduleEventHandler } from '../../platform/kafka/module-event.decorator';

/** Binds a handler to the warehouse module's consumer group (and no other). */
export const OnWarehouseEvent = moduleEventHandler('warehouse');
