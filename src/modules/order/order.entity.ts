import { Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn, ValueTransformer } from 'typeorm';
import { OrderStatus } from './order-status';

/** Postgres bigint arrives as a string; cents fit a JS number safely. */
export const bigintToNumber: ValueTransformer = { to: (v: number) => v, from: (v: string | null) => (v === null ? v : Number(v)) };

@Entity({ name: 'orders' })
export class Order {
  @PrimaryColumn('uuid')
  id: string;

  @Column({ name: 'customer_email' })
  customerEmail: string;

  @Column({ type: 'text' })
  status: OrderStatus;

  @Column({ name: 'total_cents', type: 'bigint', transformer: bigintToNumber })
  totalCents: number;

  @Column({ name: 'rejection_reason', type: 'text', nullable: true })
  rejectionReason: string | null;

  @Column({ name: 'correlation_id' })
  correlationId: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}
