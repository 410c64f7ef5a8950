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

/** What a commit names: the offsets of partitions by topic (kafkajs' OffsetsByTopicPartition). */
export interface KafkajsOffsets {
  topics: { topic: string; partitions: { partition: number; offset: string }[] }[];
}

/** The parts of kafkajs' internal ConsumerGroup this file touches (src/consumer/consumerGroup.js). */
export interface KafkajsConsumerGroup {
  /** The member's offsets of its current generation; memberAssignment is what the last sync gave it. */
  offsetManager?: { memberAssignment: Record<string, number[]> };
  commitOffsets(offsets?: KafkajsOffsets): Promise<void>;
}

type ConsumerGroupClass = { prototype: KafkajsConsumerGroup };

/** The version these fixes were read against. */
export const KAFKAJS_FIXED_VERSION = '2.2.4';

/** kafkajs' own delay before it looks at a queue whose requests wait (its CHECK_PENDING_REQUESTS_INTERVAL). */
const CHECK_PENDING_REQUESTS_INTERVAL_MS = 10;

const kafkajsVersion = (): string => (require('kafkajs/package.json') as { version: string }).version;
export const requestQueueClass = (): RequestQueueClass => require('kafkajs/src/network/requestQueue') as RequestQueueClass;

export const consumerGroupClass = (): ConsumerGroupClass => require('kafkajs/src/consumer/consumerGroup') as ConsumerGroupClass;

let original: KafkajsRequestQueue['scheduleCheckPendingRequests'] | undefined;
let originalCommitOffsets: KafkajsConsumerGroup['commitOffsets'] | undefined;

/**
 * Returns whether the fixes are in place: the two below.
 */
export function applyKafkajsFixes(): boolean {
  if (original) return true;
  if (kafkajsVersion() !== KAFKAJS_FIXED_VERSION) return false;
  fixIdleQueueTimers();
  fixCommitsOfRevokedPartitions();
  return true;
}

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
 */
function fixIdleQueueTimers(): void {
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
}

/**
 * `consumer.commitOffsets` retries a failed commit (a coordinator moving: NOT_COORDINATOR, a timeout,
 * a lost connection; not REBALANCE_IN_PROGRESS, which kafkajs does not retry) for
 * up to its retry budget with the same offsets, and each attempt goes out under the group's current
 * generation. When the member rejoined in between, that attempt names partitions the new generation
 * gave to another member, and the broker takes it (a classic-protocol OffsetCommit checks the member
 * and generation, not who holds the partition): an offset the new holder had committed past moves
 * back, and its events are read again. The app drops such offsets before it sends a commit; only
 * kafkajs' own retry can send them after the rejoin.
 *
 * Replaced by the same commit, of the partitions the member holds in its current generation only.
 * A commit of nothing but revoked partitions sends nothing. Without offsets (kafkajs' auto-commit,
 * which resolves only what the member holds) it is unchanged.
 */
function fixCommitsOfRevokedPartitions(): void {
  const proto = consumerGroupClass().prototype;
  originalCommitOffsets = proto.commitOffsets;
  const commit = originalCommitOffsets;
  proto.commitOffsets = function commitOffsets(this: KafkajsConsumerGroup, offsets?: KafkajsOffsets) {
    const held = this.offsetManager?.memberAssignment;
    if (!offsets || !held) return commit.call(this, offsets);
    const topics = offsets.topics
      .map(({ topic, partitions }) => ({ topic, partitions: partitions.filter((p) => held[topic]?.includes(p.partition)) }))
      .filter((t) => t.partitions.length > 0);
    if (topics.length === 0) return Promise.resolve();
    return commit.call(this, { ...offsets, topics });
  };
}

/** kafkajs' own commit, for the test that shows what it does upstream. */
export function originalConsumerGroupCommitOffsets(): KafkajsConsumerGroup['commitOffsets'] {
  return originalCommitOffsets ?? consumerGroupClass().prototype.commitOffsets;
}

/** kafkajs' own method, for the test that shows the bug is still there upstream. */
export function originalScheduleCheckPendingRequests(): KafkajsRequestQueue['scheduleCheckPendingRequests'] {
  return original ?? requestQueueClass().prototype.scheduleCheckPendingRequests;
}
