import { uuidV7 } from '../../../platform/database/uuid-v7';
import { escapeHtml, formatCents, renderOrderMail } from './order-mail.template';

describe(renderOrderMail.name, () => {
  const order = {
    orderId: '7d7c9f4e-3a1b-4c2d-9e8f-0a1b2c3d4e5f',
    items: [
      { sku: 'MUG', quantity: 2, unitPriceCents: 1200 },
      { sku: 'TEA-1', quantity: 1, unitPriceCents: 350 },
    ],
    totalCents: 2750,
  };

  it('shows the order id, every line, the total and the status in the text and the HTML part', () => {
    const mail = renderOrderMail('ORDER_CONFIRMED', order);
    expect(mail.subject).toBe('Your order is confirmed (order 2c3d4e5f)');
    for (const part of [mail.text, mail.html]) {
      expect(part).toContain(order.orderId);
      expect(part).toContain('MUG');
      expect(part).toContain('24.00');
      expect(part).toContain('TEA-1');
      expect(part).toContain('27.50');
      expect(part).toContain('confirmed');
    }
    expect(mail.text).toContain('Total: 27.50');
  });

  it('names two orders placed in the same millisecond differently in the subject (order ids are time-ordered)', () => {
    const now = Date.now();
    const subjects = new Set(Array.from({ length: 100 }, () => renderOrderMail('ORDER_PLACED', { ...order, orderId: uuidV7(now) }).subject));
    expect(subjects.size).toBe(100);
  });

  it('gives the reason of a rejection in words, and only for a rejection', () => {
    const rejected = renderOrderMail('ORDER_REJECTED', { ...order, reason: 'OUT_OF_STOCK' });
    expect(rejected.text).toContain('Reason: some items are out of stock');
    expect(rejected.html).toContain('Reason: some items are out of stock');
    expect(renderOrderMail('ORDER_CANCELLED', { ...order, reason: 'OUT_OF_STOCK' }).text).not.toContain('Reason');
  });

  it('escapes data from outside before it reaches the HTML part', () => {
    const mail = renderOrderMail('ORDER_PLACED', { ...order, items: [{ sku: '<b>x</b>&"\'', quantity: 1, unitPriceCents: 1 }] });
    expect(mail.html).not.toContain('<b>x</b>');
    expect(mail.html).toContain('&lt;b&gt;x&lt;/b&gt;&amp;&quot;&#39;');
  });
});

describe(formatCents.name, () => {
  it.each([
    [0, '0.00'],
    [5, '0.05'],
    [2400, '24.00'],
    [123456789, '1234567.89'],
  ])('writes %p cents as %p', (cents, text) => expect(formatCents(cents)).toBe(text));
});

describe(escapeHtml.name, () => {
  it('leaves plain text as it is', () => expect(escapeHtml('ada@example.com')).toBe('ada@example.com'));
});
