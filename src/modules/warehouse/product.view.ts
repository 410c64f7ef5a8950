export interface ProductView {
  sku: string;
  name: string;
  priceCents: number;
  available: number;
  reserved: number;
  updatedAt: string;
}

export interface ProductRow {
  sku: string;
  name: string;
  price_cents: number;
  available: number;
  reserved: number;
  updated_at: Date;
}

export const toProductView = (r: ProductRow): ProductView => ({
  sku: r.sku,
  name: r.name,
  priceCents: r.price_cents,
  available: r.available,
  reserved: r.reserved,
  updatedAt: r.updated_at.toISOString(),
});
