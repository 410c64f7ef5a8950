import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { OrderStatus } from './order-status';

/** The audit trail: every status an order took, when, and the event (and flow) that caused it. */
@Entity({ name: 'order_status_history' })
export class OrderStatusHistory {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id: string;

  @Column({ name: 'order_id', type: 'uuid' })
  orderId: string;

  @Column({ type: 'text' })
  status: OrderStatus;

  @Column({ type: 'timestamptz' })
  at: Date;

  /** The event that caused the change (null for an HTTP request or a timer). */
  @Column({ name: 'event_id', type: 'uuid', nullable: true })
  eventId: string | null;

  @Column({ name: 'correlation_id' })
  correlationId: string;

  @Column({ type: 'text', nullable: true })
  reason: string | null;
}
