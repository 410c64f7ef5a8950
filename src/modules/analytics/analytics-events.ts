import { moduleEventHandler } from '../../platform/kafka/module-event.decorator';

/** Binds a handler to the analytics module's consumer group (and no other). */
export const OnAnalyticsEvent = moduleEventHandler('analytics');
