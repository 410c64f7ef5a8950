import { Column, Entity, PrimaryColumn } from 'typeorm';

/** The order module's replica of the warehouse catalogue, fed by `product.upserted` (event-carried state). */
@Entity({ name: 'catalogue' })
export class CatalogueProduct {
  @PrimaryColumn()
  sku: string;

  @Column()
  name: string;

  @Column({ name: 'price_cents', type: 'int' })
  priceCents: number;

  @Column({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}
