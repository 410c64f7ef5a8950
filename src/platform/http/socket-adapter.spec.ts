import { originAllowed } from './socket-adapter';

describe(originAllowed.name, () => {
  it('takes the app’s own origin, one of CORS_ORIGINS, and a client that sends none', () => {
    expect(originAllowed('http://127.0.0.1:3000', '127.0.0.1:3000', [])).toBe(true);
    expect(originAllowed('https://admin.example.com', 'shop.internal:3000', ['https://admin.example.com'])).toBe(true);
    expect(originAllowed(undefined, '127.0.0.1:3000', [])).toBe(true);
  });

  it('refuses another origin, another port of the same host, and an origin that is not a URL', () => {
    expect(originAllowed('https://evil.example', '127.0.0.1:3000', [])).toBe(false);
    expect(originAllowed('http://127.0.0.1:8080', '127.0.0.1:3000', [])).toBe(false);
    expect(originAllowed('null', '127.0.0.1:3000', [])).toBe(false);
    expect(originAllowed('https://evil.example', undefined, ['https://admin.example.com'])).toBe(false);
  });
});
