import { Column, Entity, PrimaryColumn } from 'typeorm';

@Entity({ name: 'order_lines' })
export class OrderLine {
  @PrimaryColumn({ name: 'order_id', type: 'uuid' })
  orderId: string;

  @PrimaryColumn()
  sku: string;

  @Column('int')
  quantity: number;

  @Column({ name: 'unit_price_cents', type: 'int' })
  unitPriceCents: number;
}
