/**
 * Polls `probe` until it stops throwing (an `expect` inside it passes), within `timeoutMs`.
 * The last failure is rethrown, so the test says what was still wrong.
 */
export async function expectEventually<T>(probe: () => Promise<T> | T, timeoutMs = 20_000, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await probe();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  }
}
