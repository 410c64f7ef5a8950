import { randomUUID } from 'node:crypto';
import { EventEnvelope } from '../../contracts';

/** Where an event comes from: the flow it belongs to and what directly caused it. */
export interface Cause {
  correlationId: string;
  causationId: string;
}

export const Cause = {
  /** An HTTP request (or a timer) that starts or continues a flow. */
  fromRequest(requestId: string = randomUUID()): Cause {
    return { correlationId: requestId, causationId: requestId };
  },
  /** An event handled by a consumer: same flow, caused by that event. */
  fromEvent(envelope: EventEnvelope): Cause {
    return { correlationId: envelope.correlationId, causationId: envelope.eventId };
  },
};
