import { moduleEventHandler } from '../../platform/kafka/module-event.decorator';

/** Binds a handler to the email module's consumer group (and no other). */
export const OnEmailEvent = moduleEventHandler('email');
