import { moduleEventHandler } from '../../platform/kafka/module-event.decorator';

/** Binds a handler to the order module's consumer group (and no other). */
export const OnOrderEvent = moduleEventHandler('order');
