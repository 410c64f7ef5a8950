import { createTestStack, startTestApp, TestApp, TestStack } from '../support/test-app';

describe('HTTP security: headers, CORS, rate limits and the admin token', () => {
  let stack: TestStack;
  let app: TestApp;
  const origin = 'https://shop.example.com';

  beforeAll(async () => {
    stack = await createTestStack('sechttp');
    app = await startTestApp(stack, { MODULES: 'order,warehouse', RATE_LIMIT_MAX: '5', RATE_LIMIT_TTL_MS: '60000', CORS_ORIGINS: origin });
  });

  afterAll(async () => {
    await app?.close();
    await stack?.drop();
  });

  it('sends helmet headers and no X-Powered-By, on answers, refusals and unknown routes alike', async () => {
    const answers = [
      await app.http.get('/health/live').expect(200),
      await app.http.post('/orders').send({}).expect(400),
      await app.http.get('/no-such-route').expect(404),
    ];
    for (const res of answers) {
      expect(res.headers['x-powered-by']).toBeUndefined();
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['x-frame-options']).toBe('SAMEORIGIN');
      expect(res.headers['strict-transport-security']).toMatch(/max-age=/);
      expect(res.headers['content-security-policy']).toContain("default-src 'self'");
      expect(res.headers['content-security-policy']).not.toContain('upgrade-insecure-requests');
    }
  });

  it('answers CORS preflights for the configured origin only', async () => {
    const allowed = await app.http.options('/orders').set('Origin', origin).set('Access-Control-Request-Method', 'POST');
    expect(allowed.headers['access-control-allow-origin']).toBe(origin);
    const other = await app.http.options('/orders').set('Origin', 'https://evil.example').set('Access-Control-Request-Method', 'POST');
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('answers 401 without the admin token and 403 with a wrong one', async () => {
    const product = { sku: 'SEC', name: 'Sec', priceCents: 1, stock: 1 };
    const missing = await app.http.post('/products').send(product).expect(401);
    expect(missing.body.message).toContain('Authorization: Bearer');
    await app.http.post('/products').set('Authorization', 'Bearer wrong-token-of-some-length').send(product).expect(403);
    await app.http.post('/products').set('Authorization', 'Basic dXNlcjpwYXNz').send(product).expect(401);
  });

  it('limits a client to RATE_LIMIT_MAX requests per window on a public route, with 429 and Retry-After', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await app.http.get('/orders/00000000-0000-4000-8000-000000000000')).status);
    expect(statuses).toEqual([404, 404, 404, 404, 404]);
    const limited = await app.http.get('/orders/00000000-0000-4000-8000-000000000000').expect(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(limited.body.message).toContain('too many requests');
  });

  it('ignores X-Forwarded-For from a peer not in TRUST_PROXY: a client cannot walk past its limit by naming another address', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      // A route of its own: the window is per route, and the test before spent GET /orders/:id's.
      statuses.push((await app.http.get('/products/NO-SUCH-SKU').set('X-Forwarded-For', `203.0.113.${i + 1}`)).status);
    }
    expect(statuses).toEqual([404, 404, 404, 404, 404, 429]);
  });

  it('keys the limit on the client X-Forwarded-For names when the peer is a trusted proxy (TRUST_PROXY), so customers behind an ingress do not share one window', async () => {
    const proxied = await startTestApp(stack, { MODULES: 'order', RATE_LIMIT_MAX: '2', RATE_LIMIT_TTL_MS: '60000', TRUST_PROXY: '127.0.0.1' });
    try {
      const get = (client: string) => proxied.http.get('/orders/00000000-0000-4000-8000-000000000002').set('X-Forwarded-For', client);
      expect([(await get('203.0.113.1')).status, (await get('203.0.113.1')).status, (await get('203.0.113.1')).status]).toEqual([404, 404, 429]);
      expect((await get('203.0.113.2')).status).toBe(404);
      // An IPv6 client is its /56: another /64 of the same /56 shares its window, another /56 does not.
      expect([(await get('2001:db8:0:100::1')).status, (await get('2001:db8:0:1ff::1')).status, (await get('2001:db8:0:1aa::7')).status]).toEqual([404, 404, 429]);
      expect((await get('2001:db8:0:200::1')).status).toBe(404);
    } finally {
      await proxied.close();
    }
  });

  it('never limits health probes', async () => {
    for (let i = 0; i < 8; i++) await app.http.get('/health/live').expect(200);
  });
});
