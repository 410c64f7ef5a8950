import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Browser, chromium, Page } from 'playwright-core';
import { io, Socket } from 'socket.io-client';
import { orderRef } from '../../src/modules/analytics/live/live-change';
import { LiveGateway } from '../../src/modules/analytics/live/live.gateway';
import { expectEventually } from '../support/eventually';
import { createProduct, placeOrder } from '../support/shop';
import { createTestStack, startTestApp, TestApp, TestStack } from '../support/test-app';

const SCREENSHOT = join(__dirname, '../../test-results/dashboard.png');

describe('dashboard in a real browser', () => {
  let stack: TestStack;
  let app: TestApp;
  let browser: Browser;
  let page: Page;
  let navigations = 0;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    stack = await createTestStack('dashboard');
    app = await startTestApp(stack);
    await createProduct(app, stack, 'MUG', 1000, 1200);
    browser = await chromium.launch({
      executablePath: process.env.TEST_CHROMIUM_PATH || '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
      timeout: 30_000,
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.setDefaultTimeout(15_000);
    page.on('framenavigated', (frame) => {
      if (frame === page.mainFrame()) navigations++;
    });
    // Collected and checked after each test: thrown from the listener, it escaped the test it belonged to.
    page.on('pageerror', (error) => pageErrors.push(error.message));
  });

  afterEach(() => {
    const seen = pageErrors.splice(0);
    expect(seen).toEqual([]);
  });

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await stack?.drop();
  });

  // Evaluated in the page (strings: this project compiles without the DOM lib).
  const connection = () =>
    page.evaluate('({ ...document.querySelector(\'[data-testid="connection"]\').dataset })') as Promise<Record<string, string>>;
  const counter = (id: string) => page.locator(`[data-testid="${id}"]`).getAttribute('data-value').then(Number);

  it('loads the snapshot and goes live', async () => {
    await page.goto(`${app.url}/dashboard`);
    await expectEventually(async () => expect((await connection()).state).toBe('live'));
    expect(await counter('orders-placed')).toBe(0);
  });

  it('updates the counters and the feed from the stream, without a reload', async () => {
    const orders: { id: string }[] = [];
    for (let i = 0; i < 3; i++) orders.push(await placeOrder(app, [{ sku: 'MUG', quantity: 1 + i }]));

    await expectEventually(async () => {
      expect(await counter('orders-placed')).toBe(3);
      expect(await counter('orders-CONFIRMED')).toBe(3);
      expect(await counter('revenue')).toBe(6 * 1200);
      for (const o of orders) expect(await page.locator(`#feed li[data-key="${orderRef(o.id)}"]`).count()).toBeGreaterThan(0);
    });
    expect(navigations).toBe(1);
    expect((await connection()).resyncs).toBe('1');
  });

  it('shows the drop when the socket is killed, reconnects and re-syncs from the snapshot', async () => {
    const gateway = app.app.get(LiveGateway);
    expect(gateway.server.sockets.size).toBe(1);
    // Close the transport under the client (as a network drop would), then order while it is away.
    gateway.server.sockets.forEach((socket) => socket.conn.close());
    const during = await placeOrder(app, [{ sku: 'MUG', quantity: 4 }]);

    await expectEventually(async () => {
      const c = await connection();
      expect(c.drops).toBe('1');
      expect(c.history).toMatch(/live reconnecting syncing live$/);
      expect(c.resyncs).toBe('2');
    });
    await expectEventually(async () => {
      expect(await counter('orders-placed')).toBe(4);
      expect(await counter('orders-CONFIRMED')).toBe(4);
      expect(await counter('revenue')).toBe(10 * 1200);
      expect(await page.locator(`#feed li[data-key="${orderRef(during.id)}"]`).count()).toBeGreaterThan(0);
    });
    expect(navigations).toBe(1);
  });

  it('renders a screenshot that is not blank', async () => {
    mkdirSync(join(SCREENSHOT, '..'), { recursive: true });
    const png = await page.screenshot({ fullPage: true });
    writeFileSync(SCREENSHOT, png);
    // Let the browser decode its own screenshot and count colours: a blank page is one or two.
    const { distinct, dominantShare } = (await page.evaluate(`(async () => {
      const img = new Image();
      img.src = 'data:image/png;base64,${png.toString('base64')}';
      await img.decode();
      const canvas = new OffscreenCanvas(img.width, img.height);
      const ctx = canvas.getContext('2d');
      ctx.drawImage(img, 0, 0);
      const data = ctx.getImageData(0, 0, img.width, img.height).data;
      const counts = new Map();
      for (let i = 0; i < data.length; i += 4) {
        const rgb = (data[i] << 16) | (data[i + 1] << 8) | data[i + 2];
        counts.set(rgb, (counts.get(rgb) || 0) + 1);
      }
      return { distinct: counts.size, dominantShare: Math.max(...counts.values()) / (data.length / 4) };
    })()`)) as { distinct: number; dominantShare: number };
    expect(distinct).toBeGreaterThan(50);
    expect(dominantShare).toBeLessThan(0.9);
  });

  /** Opens a /live socket from Node as a page at `origin` would; resolves with the socket or the reason it was refused. */
  const openLive = (url: string, origin?: string) =>
    new Promise<{ socket?: Socket; refused?: string }>((resolve) => {
      const socket = io(`${url}/live`, { transports: ['websocket'], reconnection: false, timeout: 5000, extraHeaders: origin ? { origin } : {} });
      socket.once('connect', () => resolve({ socket }));
      socket.once('connect_error', (e) => {
        socket.close();
        resolve({ refused: e.message });
      });
    });

  it('refuses a /live socket opened by a page of another origin, and takes the app’s own and clients without an Origin', async () => {
    const foreign = await openLive(app.url, 'https://evil.example');
    expect(foreign.socket).toBeUndefined();
    expect(foreign.refused).toBeDefined();
    for (const origin of [new URL(app.url).origin, undefined]) {
      const own = await openLive(app.url, origin);
      expect([origin, own.refused]).toEqual([origin, undefined]);
      own.socket?.close();
    }
  });

  it('holds at most ANALYTICS_LIVE_MAX_CONNECTIONS sockets, and takes one again once one closes', async () => {
    const capped = await startTestApp(stack, { MODULES: 'analytics', ANALYTICS_LIVE_MAX_CONNECTIONS: '2' });
    const open: Socket[] = [];
    try {
      for (let i = 0; i < 2; i++) open.push((await openLive(capped.url)).socket!);
      expect(open.every((s) => s?.connected)).toBe(true);
      expect((await openLive(capped.url)).refused).toBeDefined();
      open.shift()!.close();
      // The server counts the closed one out once its close reaches it.
      const again = await expectEventually(async () => {
        const attempt = await openLive(capped.url);
        expect(attempt.socket?.connected).toBe(true);
        return attempt.socket!;
      });
      open.push(again);
    } finally {
      for (const s of open) s?.close();
      await capped.close();
    }
  });
});
