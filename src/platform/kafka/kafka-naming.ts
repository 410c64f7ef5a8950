import { ModuleName } from '../config/environment';

/** Turns logical names (module, event topic) into the names used on the broker. */
export class KafkaNaming {
  constructor(
    private readonly topicPrefix = '',
    private readonly groupPrefix = '',
  ) {}

  topic(logical: string): string {
    return `${this.topicPrefix}${logical}`;
  }

  /** The logical topic of a broker topic, or undefined when it is not ours. */
  logicalTopic(topic: string): string | undefined {
    return topic.startsWith(this.topicPrefix) ? topic.slice(this.topicPrefix.length) : undefined;
  }

  /** One consumer group per module, named after it. */
  group(module: ModuleName): string {
    return `${this.groupPrefix}${module}`;
  }

  /** A module's retry topic of the given level (1-based): `<prefix><module>.retry.<level>`. */
  retryTopic(module: ModuleName, level: number): string {
    return this.topic(`${module}.retry.${level}`);
  }

  /** The level of `topic` when it is one of `module`'s retry topics (any level), else 0. */
  retryLevel(module: ModuleName, topic: string): number {
    const match = /^([a-z]+)\.retry\.([1-9]\d{0,5})$/.exec(this.logicalTopic(topic) ?? '');
    return match && match[1] === module ? Number(match[2]) : 0;
  }

  /** Whether `topic` is one of our retry topics (any module, any level). */
  isRetryTopic(topic: string): boolean {
    return /^[a-z]+\.retry\.\d+$/.test(this.logicalTopic(topic) ?? '');
  }

  /** Where a redrive from the DLQ sends a module's dead letters: its first retry topic, read by it alone. */
  redriveTopic(module: ModuleName): string {
    return this.retryTopic(module, 1);
  }

  /** Where a module parks events it cannot handle: `<prefix><module>.dlq` (the group's name + `.dlq`). */
  deadLetterTopic(module: ModuleName): string {
    return this.topic(`${module}.dlq`);
  }
}
