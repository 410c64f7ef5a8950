import { expectEventually } from '../../../test/support/eventually';
import { kafkaClientConfig } from './kafka-client';
import {
  applyKafkajsFixes,
  consumerGroupClass,
  KafkajsRequestQueue,
  originalConsumerGroupCommitOffsets,
  originalScheduleCheckPendingRequests,
  requestQueueClass,
} from './kafkajs-fixes';

/** kafkajs' RequestQueue as a broker connection builds it, with the parts these tests drive. */
interface Queue extends KafkajsRequestQueue {
  push(request: { entry: { correlationId: number; resolve: () => void }; expectResponse: boolean; sendRequest: () => void }): void;
  fulfillRequest(response: { correlationId: number; payload: null; size: number }): void;
  maybeThrottle(ms: number): void;
  destroy(): void;
}

const silent = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
const queues: Queue[] = [];
function newQueue(maxInFlightRequests: number | null = null): Queue {
  const RequestQueue = requestQueueClass() as unknown as new (options: object) => Queue;
  const queue = new RequestQueue({ maxInFlightRequests, requestTimeout: 30_000, enforceRequestTimeout: false, clientId: 'test', broker: 'test:9092', logger: silent });
  queues.push(queue);
  return queue;
}
afterAll(() => queues.forEach((q) => q.destroy()));

/** A request as a connection pushes it; `sent` records when the queue let it go. */
function request(correlationId: number) {
  const sent: number[] = [];
  return { sent, entry: { correlationId, resolve: () => undefined }, expectResponse: true, sendRequest: () => sent.push(Date.now()) };
}

describe('kafkajs fixes', () => {
  it('kafkajs 2.2.4 itself still arms a timer on an idle queue (drop the fix once this fails)', () => {
    const queue = newQueue();
    originalScheduleCheckPendingRequests().call(queue);
    expect(queue.pending).toHaveLength(0);
    expect(queue.throttleCheckTimeoutId).not.toBeNull();
  });

  it('the app’s client settings put the fix in place', () => {
    kafkaClientConfig({ KAFKA_BROKERS: '127.0.0.1:9092', KAFKA_CLIENT_ID: 'test' }, 'fixes');
    expect(requestQueueClass().prototype.scheduleCheckPendingRequests).not.toBe(originalScheduleCheckPendingRequests());
    // What it does against a broker: e2e revoked-commits.
    expect(consumerGroupClass().prototype.commitOffsets).not.toBe(originalConsumerGroupCommitOffsets());
  });

  it('leaves no timer behind after a response when nothing waits', () => {
    expect(applyKafkajsFixes()).toBe(true);
    const queue = newQueue();
    const first = request(1);
    queue.push(first);
    expect(first.sent).toHaveLength(1);
    queue.fulfillRequest({ correlationId: 1, payload: null, size: 0 });
    expect(queue.throttleCheckTimeoutId).toBeNull();
  });

  it('still sends a request that waits for the broker’s throttle, once it ends', async () => {
    applyKafkajsFixes();
    const queue = newQueue();
    queue.maybeThrottle(30);
    const throttledAt = Date.now();
    const waiting = request(2);
    queue.push(waiting);
    expect(waiting.sent).toHaveLength(0);
    await expectEventually(() => expect(waiting.sent).toHaveLength(1), 2000, 5);
    expect(waiting.sent[0] - throttledAt).toBeGreaterThanOrEqual(29);
    expect(queue.pending).toHaveLength(0);
    expect(queue.throttleCheckTimeoutId).toBeNull();
  });

  it('still sends a request that waits for an in-flight slot, when the slot frees', () => {
    applyKafkajsFixes();
    const queue = newQueue(1);
    const first = request(3);
    const second = request(4);
    queue.push(first);
    queue.push(second);
    expect(second.sent).toHaveLength(0);
    queue.fulfillRequest({ correlationId: 3, payload: null, size: 0 });
    expect(second.sent).toHaveLength(1);
  });

  it('leaves any other kafkajs version unpatched (kafkajs/package.json mocked to another version)', () => {
    try {
      jest.isolateModules(() => {
        jest.doMock('kafkajs/package.json', () => ({ version: '2.2.5' }));
        const fresh = jest.requireActual<typeof import('./kafkajs-fixes')>('./kafkajs-fixes');
        expect(fresh.applyKafkajsFixes()).toBe(false);
        expect(fresh.requestQueueClass().prototype.scheduleCheckPendingRequests).toBe(fresh.originalScheduleCheckPendingRequests());
      });
    } finally {
      jest.dontMock('kafkajs/package.json'); // a mock factory outlives isolateModules
    }
  });
});
