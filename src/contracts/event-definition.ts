/** What a producer and every consumer agree on for one event type and version. */
export interface EventDefinition<TType extends string = string, TPayload = unknown> {
  type: TType;
  version: number;
  /** Kafka topic (before any environment prefix): `<aggregate>.<past-tense>`. */
  topic: string;
  /** The payload's class, with class-validator rules; consumers validate against it. */
  payload: new () => TPayload;
  /** The message key (the aggregate id), which decides the partition and so the ordering. */
  key: (payload: TPayload) => string;
  /** Module that emits it. */
  producer: string;
  description: string;
}

export function defineEvent<TType extends string, TPayload>(
  definition: EventDefinition<TType, TPayload>,
): EventDefinition<TType, TPayload> {
  return definition;
}
