import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * What the warehouse did for an order. CLOSED marks an order that was cancelled or rejected
 * before its `order.placed` arrived here, so the late event reserves nothing.
 */
export type ReservationStatus = 'RESERVED' | 'REJECTED' | 'RELEASED' | 'CLOSED';

@Entity({ name: 'reservations' })
export class Reservation {
  @PrimaryColumn({ name: 'order_id', type: 'uuid' })
  orderId: string;

  @Column({ type: 'text' })
  status: ReservationStatus;

  @Column({ type: 'jsonb' })
  items: { sku: string; quantity: number }[];

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @Column({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}
