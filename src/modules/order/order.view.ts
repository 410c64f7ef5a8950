import { Order } from './order.entity';

export interface OrderLineView {
  sku: string;
  quantity: number;
  unitPriceCents: number;
}

export interface OrderView {
  id: string;
  status: string;
  customerEmail: string;
  items: OrderLineView[];
  totalCents: number;
  rejectionReason: string | null;
  createdAt: string;
  updatedAt: string;
}

export function toOrderView(order: Order, lines: OrderLineView[]): OrderView {
  return {
    id: order.id,
    status: order.status,
    customerEmail: order.customerEmail,
    items: lines.map((l) => ({ sku: l.sku, quantity: l.quantity, unitPriceCents: l.unitPriceCents })),
    totalCents: order.totalCents,
    rejectionReason: order.rejectionReason,
    createdAt: order.createdAt.toISOString(),
    updatedAt: order.updatedAt.toISOString(),
  };
}
