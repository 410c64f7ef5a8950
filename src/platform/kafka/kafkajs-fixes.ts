/**
 * Fixes for kafkajs 2.2.4 bugs that upstream never released (the project is unmaintained), applied
 * once per process before any client connects. Each one names the exact version it was written
 * against and is skipped on any other: a newer kafkajs must be checked again, not patched blindly
 * (kafkajs-fixes.spec.ts fails until someone does).
 */

/** The parts of kafkajs' internal RequestQueue this file touches (src/network/requestQueue/index.js). */
export interface KafkajsRequestQueue {
  pending: unknown[];
  throttledUntil: number;
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  checkPendingRequests(): void;
  scheduleCheckPendingRequests(): void;
}

type RequestQueueClass = { prototype: KafkajsRequestQueue };

/** The version these fixes were read against. */
export const KAFKAJS_FIXED_VERSION = '2.2.4';

/** kafkajs' own delay before it looks at a queue whose requests wait (its CHECK_PENDING_REQUESTS_INTERVAL). */
const CHECK_PENDING_REQUESTS_INTERVAL_MS = 10;

const kafkajsVersion = (): string => (require('kafkajs/package.json') as { version: string }).version;
export const requestQueueClass = (): RequestQueueClass => require('kafkajs/src/network/requestQueue') as RequestQueueClass;

let original: KafkajsRequestQueue['scheduleCheckPendingRequests'] | undefined;

/**
 * Every broker connection of kafkajs 2.2.4 runs a timer every millisecond, forever, once it has had
 * one response: `scheduleCheckPendingRequests` computes `throttledUntil - now`, negative when nothing
 * is throttled, and with no request pending it arms `setTimeout` with that delay (1 ms); the timer
 * checks the empty queue and schedules itself again (tulios/kafkajs#1556, #1704; fix proposed in
 * #1667, never merged). With the app's dozen connections an idle process spent ~9 % of a core on
 * it (CPU profile, docs/performance.md), and every request under load paid for the timers too.
 *
 * Replaced by what the method means to do: arm a check only while requests wait, at the end of the
 * broker's throttle or, when the wait is for an in-flight slot, after kafkajs' usual 10 ms (a
 * fulfilled request also checks the queue, as before). A throttle that ends within the same
 * millisecond still gets its check (the case kafkajs#1532 fixed).
 *
 * Returns whether the fix is in place.
 */
export function applyKafkajsFixes(): boolean {
  if (original) return true;
  if (kafkajsVersion() !== KAFKAJS_FIXED_VERSION) return false;
  const proto = requestQueueClass().prototype;
  original = proto.scheduleCheckPendingRequests;
  proto.scheduleCheckPendingRequests = function scheduleCheckPendingRequests(this: KafkajsRequestQueue) {
    if (this.throttleCheckTimeoutId || this.pending.length === 0) return;
    const untilUnthrottled = this.throttledUntil - Date.now();
    this.throttleCheckTimeoutId = setTimeout(
      () => {
        this.throttleCheckTimeoutId = null;
        this.checkPendingRequests();
      },
      untilUnthrottled > 0 ? untilUnthrottled : CHECK_PENDING_REQUESTS_INTERVAL_MS,
    );
  };
  return true;
}

/** kafkajs' own method, for the test that shows the bug is still there upstream. */
export function originalScheduleCheckPendingRequests(): KafkajsRequestQueue['scheduleCheckPendingRequests'] {
  return original ?? requestQueueClass().prototype.scheduleCheckPendingRequests;
}
