/**
 * The headers the transport adds to what it sends to a retry topic or a dead-letter topic, each
 * with what it says. The writers are typed by these lists and the AsyncAPI document is built from
 * them, so a header cannot be written without being documented. All values are strings.
 */
export const RETRY_HEADERS = {
  'retry-level': 'Which retry topic it is on (1 up to the number of KAFKA_RETRY_DELAYS_MS).',
  'retry-due-at': 'Epoch milliseconds before which it is not handled again.',
  'retry-attempts': 'Handler attempts made so far ("0" on a redrive: a fresh budget).',
  'retry-error': 'The last error, truncated to 2000 characters (absent on a redrive).',
  'retry-source-topic': 'Where the event was first read.',
  'retry-source-partition': 'Where the event was first read.',
  'retry-source-offset': 'Where the event was first read.',
  'redriven-from': 'On a redrive: `<dlq topic>@<partition>:<offset>` of the letter it came from (kept on later hops).',
} as const;

export const DEAD_LETTER_HEADERS = {
  'dlq-error': 'The error, truncated to 2000 characters.',
  'dlq-error-code': 'EVENT.* for undecodable or invalid events, the handler error code otherwise.',
  'dlq-permanent': '"true" when retrying could never succeed.',
  'dlq-attempts': 'Handler attempts made.',
  'dlq-source-topic': 'Where the event was first read.',
  'dlq-source-partition': 'Where the event was first read.',
  'dlq-source-offset': 'Where the event was first read.',
  'dlq-group': 'The consumer group that parked it.',
  'dlq-at': 'ISO-8601 time of parking.',
  'dlq-value-dropped': 'Set, to the value’s size in bytes, when the broker refused the letter at that size even compressed: the value is empty; read it at the source while that topic retains it.',
} as const;

export type RetryHeaders = { [name in keyof typeof RETRY_HEADERS]?: string };
export type DeadLetterHeaders = { [name in keyof typeof DEAD_LETTER_HEADERS]?: string };
