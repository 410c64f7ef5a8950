import { Type } from 'class-transformer';
import { IsDefined, IsInt, IsISO8601, IsObject, IsString, IsUUID, Matches, Min, MinLength } from 'class-validator';

/**
 * The one envelope every event travels in. The version lives here, not in the topic:
 * a breaking change is a new version that consumers accept side by side for a while.
 */
export interface EventEnvelope<TPayload = unknown, TType extends string = string> {
  eventId: string;
  type: TType;
  version: number;
  occurredAt: string;
  /** Kafka message key: the aggregate id (order id, SKU). Decides the partition. */
  key: string;
  /** The request or flow this event belongs to; the same id through the whole saga. */
  correlationId: string;
  /** The event (or request) that caused this one. */
  causationId: string;
  /** The module that emitted it. */
  producer: string;
  payload: TPayload;
}

/** Runtime shape check of an incoming envelope (the payload is checked against its contract). */
export class EventEnvelopeSchema implements EventEnvelope<Record<string, unknown>> {
  @IsUUID()
  eventId: string;

  @Matches(/^[a-z]+\.[a-z_]+$/)
  type: string;

  @Type(() => Number)
  @IsInt()
  @Min(1)
  version: number;

  @IsISO8601({ strict: true })
  occurredAt: string;

  @IsString()
  @MinLength(1)
  key: string;

  @IsString()
  @MinLength(1)
  correlationId: string;

  @IsString()
  @MinLength(1)
  causationId: string;

  @IsString()
  @MinLength(1)
  producer: string;

  @IsDefined()
  @IsObject()
  payload: Record<string, unknown>;
}
