/**
 * Collects concurrent calls for up to `windowMs` (or `maxBatch` of them) and runs them as one
 * batch; at most `maxConcurrent` batches run at a time, and while they all do, new calls wait and
 * join the next batch. One call at a time (light load) waits at most the window.
 */
export class GroupCommit<T, R> {
  private queue: { input: T; resolve: (r: R) => void; reject: (e: unknown) => void }[] = [];
  private timer?: NodeJS.Timeout;
  private running = 0;

  constructor(
    private readonly runBatch: (inputs: T[]) => Promise<(R | { error: unknown })[]>,
    private readonly options: { windowMs: number; maxBatch: number; maxConcurrent: number },
  ) {}

  submit(input: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ input, resolve, reject });
      if (this.queue.length >= this.options.maxBatch && this.running < this.options.maxConcurrent) this.flush();
      else this.schedule();
    });
  }

  private schedule(): void {
    if (this.timer || this.running >= this.options.maxConcurrent || this.queue.length === 0) return;
    this.timer = setTimeout(() => this.flush(), this.options.windowMs);
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.queue.splice(0, this.options.maxBatch);
    if (batch.length === 0) return;
    this.running++;
    void this.runBatch(batch.map((b) => b.input))
      .then(
        (results) =>
          batch.forEach((b, i) => {
            const r = results[i];
            if (r && typeof r === 'object' && 'error' in r) b.reject(r.error);
            else b.resolve(r as R);
          }),
        (e: unknown) => batch.forEach((b) => b.reject(e)),
      )
      .finally(() => {
        this.running--;
        // Calls that queued while every slot was busy go now, without another window.
        if (this.queue.length >= this.options.maxBatch || (this.queue.length > 0 && !this.timer)) this.flush();
      });
  }
}
