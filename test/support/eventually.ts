/**
 * Polls `probe` until it stops throwing (an `expect` inside it passes), within `timeoutMs`.
 * The last failure is rethrown, so the test says what was still wrong. A probe that hangs (a request
 * that never answers) is given up on at the deadline too (an attempt that starts just before it gets
 * a second), with that said, instead of running into jest's own timeout.
 */
export async function expectEventually<T>(probe: () => Promise<T> | T, timeoutMs = 20_000, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    let timer: NodeJS.Timeout | undefined;
    const hung = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new Error(
              `expectEventually: the probe did not settle within ${timeoutMs} ms` +
                (lastError instanceof Error ? `; the attempt before failed with: ${lastError.message}` : ''),
            ),
          ),
        Math.max(1000, deadline - Date.now()),
      );
    });
    try {
      return await Promise.race([Promise.resolve().then(probe), hung]);
    } catch (error) {
      if (Date.now() >= deadline) throw error;
      lastError = error;
      await new Promise((r) => setTimeout(r, intervalMs));
    } finally {
      clearTimeout(timer);
    }
  }
}

/** `promise`, or a failure saying what did not happen once `timeoutMs` passed (`what` is read then). */
export async function within<T>(promise: Promise<T>, timeoutMs: number, what: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`not within ${timeoutMs} ms: ${what()}`)), timeoutMs))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
