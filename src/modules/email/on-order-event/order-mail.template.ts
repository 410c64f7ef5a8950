import { OrderLinePayload, OrderRejectionReason } from '../../../contracts';
import { MailKind, RenderedMail } from '../sent-mail';

/** What every order mail shows; `reason` only for a rejection. */
export interface OrderMailModel {
  orderId: string;
  items: OrderLinePayload[];
  totalCents: number;
  reason?: OrderRejectionReason;
}

const HEADLINES: Record<MailKind, { subject: string; status: string; intro: string }> = {
  ORDER_PLACED: {
    subject: 'We received your order',
    status: 'received, waiting for stock',
    intro: 'Thank you for your order. We are reserving your items and will confirm shortly.',
  },
  ORDER_CONFIRMED: {
    subject: 'Your order is confirmed',
    status: 'confirmed',
    intro: 'Good news: every item of your order is reserved for you.',
  },
  ORDER_REJECTED: {
    subject: 'We could not accept your order',
    status: 'rejected',
    intro: 'We are sorry: we could not accept your order. You have not been charged.',
  },
  ORDER_CANCELLED: {
    subject: 'Your order was cancelled',
    status: 'cancelled',
    intro: 'Your order was cancelled as you asked.',
  },
};

const REASONS: Record<OrderRejectionReason, string> = {
  OUT_OF_STOCK: 'some items are out of stock',
  UNKNOWN_SKU: 'some items are no longer sold',
  RESERVATION_TIMEOUT: 'we could not reserve your items in time',
};

/** Cents as a decimal amount (`2400` → `24.00`); the shop has one currency and no symbol yet. */
export function formatCents(cents: number): string {
  return `${Math.trunc(cents / 100)}.${String(Math.abs(cents % 100)).padStart(2, '0')}`;
}

/** Everything that came from outside goes through here before it reaches HTML. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&${{ '&': 'amp', '<': 'lt', '>': 'gt', '"': 'quot', "'": '#39' }[c]};`);
}

/** Subject, plain text and HTML of the mail for one order event. */
export function renderOrderMail(kind: MailKind, model: OrderMailModel): RenderedMail {
  const { subject, status, intro } = HEADLINES[kind];
  // The id's last characters: random in every uuid version (a time-ordered id starts with its creation
  // time, the same for a customer's orders of one minute).
  const shortId = model.orderId.slice(-8);
  const reason = kind === 'ORDER_REJECTED' && model.reason ? REASONS[model.reason] : undefined;
  const lines = model.items.map((l) => ({
    sku: l.sku,
    quantity: l.quantity,
    unit: formatCents(l.unitPriceCents),
    total: formatCents(l.quantity * l.unitPriceCents),
  }));
  const total = formatCents(model.totalCents);

  const text = [
    intro,
    '',
    `Order: ${model.orderId}`,
    `Status: ${status}`,
    ...(reason ? [`Reason: ${reason}`] : []),
    '',
    ...lines.map((l) => `  ${l.quantity} x ${l.sku} at ${l.unit} = ${l.total}`),
    '',
    `Total: ${total}`,
    '',
  ].join('\n');

  const e = escapeHtml;
  const html = `<!doctype html>
<html><body style="font-family: sans-serif">
<p>${e(intro)}</p>
<p>Order: <strong>${e(model.orderId)}</strong><br>Status: ${e(status)}${reason ? `<br>Reason: ${e(reason)}` : ''}</p>
<table cellpadding="4" style="border-collapse: collapse">
<thead><tr><th align="left">Item</th><th align="right">Quantity</th><th align="right">Price</th><th align="right">Amount</th></tr></thead>
<tbody>
${lines.map((l) => `<tr><td>${e(l.sku)}</td><td align="right">${l.quantity}</td><td align="right">${e(l.unit)}</td><td align="right">${e(l.total)}</td></tr>`).join('\n')}
</tbody>
<tfoot><tr><th align="left" colspan="3">Total</th><th align="right">${e(total)}</th></tr></tfoot>
</table>
</body></html>
`;
  return { subject: `${subject} (order ${shortId})`, text, html };
}
