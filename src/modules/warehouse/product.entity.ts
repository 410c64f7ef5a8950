import { Column, Entity, PrimaryColumn } from 'typeorm';

@Entity({ name: 'products' })
export class Product {
  @PrimaryColumn()
  sku: string;

  @Column()
  name: string;

  @Column({ name: 'price_cents', type: 'int' })
  priceCents: number;

  /** Units that can still be reserved. */
  @Column('int')
  available: number;

  /** Units held by confirmed or pending orders. */
  @Column('int')
  reserved: number;

  @Column({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}
