import {
  AclOperationTypes,
  AclPermissionTypes,
  AclResourceTypes,
  Admin,
  ResourcePatternTypes,
} from 'kafkajs';
import { EVENTS, EventType } from '../../contracts';
import { ModuleName } from '../config/environment';
import { KafkaNaming } from '../kafka/kafka-naming';

/**
 * What each module's principal consumes (its handlers' event types). Producers come from the
 * contracts; kafka-acls.spec.ts fails when this table and the modules' handlers disagree.
 */
export const MODULE_CONSUMES: Record<ModuleName, EventType[]> = {
  order: ['product.upserted', 'stock.reserved', 'stock.rejected'],
  warehouse: ['order.placed', 'order.rejected', 'order.cancelled'],
  email: ['order.placed', 'order.confirmed', 'order.rejected', 'order.cancelled'],
  analytics: [
    'order.placed',
    'order.confirmed',
    'order.rejected',
    'order.cancelled',
    'product.upserted',
    'stock.reserved',
    'stock.rejected',
    'stock.released',
  ],
};

export interface ModuleAccess {
  principal: string;
  /** Topics it may read: what it consumes, and its own dead-letter topic (browse, redrive). */
  reads: string[];
  /** Topics it may write: the events it produces (outbox relay) and its dead-letter topic. */
  writes: string[];
  /**
   * Every event topic, Describe only (metadata, never data): each module's outbox relay checks at
   * start that all event topics exist, and would try to create the ones it cannot see.
   */
  describes: string[];
  /** Prefix of its own retry topics (`<module>.retry.N`), which it both reads and writes. */
  retryPrefix: string;
  /** Its consumer group, and groups named `<group>.` + anything (its DLQ reader and redrive mark). */
  group: string;
}

/** Least privilege of one module's Kafka principal (the SCRAM user named after the module). */
export function moduleAccess(naming: KafkaNaming, module: ModuleName): ModuleAccess {
  const topic = (type: EventType) => naming.topic(EVENTS[type].topic);
  const produced = (Object.keys(EVENTS) as EventType[]).filter((t) => EVENTS[t].producer === module);
  const dlq = naming.deadLetterTopic(module);
  return {
    principal: `User:${module}`,
    reads: [...new Set([...MODULE_CONSUMES[module].map(topic), dlq])],
    writes: [...new Set([...produced.map(topic), dlq])],
    describes: (Object.keys(EVENTS) as EventType[]).map(topic),
    retryPrefix: naming.retryTopic(module, 1).replace(/1$/, ''),
    group: naming.group(module),
  };
}

export interface TopicPlanOptions {
  /** Partitions of the event and dead-letter topics (KAFKA_TOPIC_PARTITIONS). */
  partitions?: number;
  /** Partitions of the retry topics (KAFKA_RETRY_TOPIC_PARTITIONS). */
  retryPartitions?: number;
  /** Retry topics per module (KAFKA_RETRY_DELAYS_MS' length); `.retry.1` always, where a redrive comes back. */
  retryLevels?: number;
}

/** The topics the modules use, with the partitions the app would create them with. */
export function topicPlan(
  naming: KafkaNaming,
  modules: ModuleName[],
  { partitions = 6, retryPartitions = 1, retryLevels = 2 }: TopicPlanOptions,
): { topic: string; numPartitions: number }[] {
  const access = modules.map((m) => moduleAccess(naming, m));
  const retryTopics = new Set(modules.flatMap((m) => Array.from({ length: Math.max(1, retryLevels) }, (_, i) => naming.retryTopic(m, i + 1))));
  const others = [...new Set(access.flatMap((a) => [...a.reads, ...a.writes]))].filter((t) => !retryTopics.has(t));
  return [
    ...others.map((topic) => ({ topic, numPartitions: partitions })),
    ...[...retryTopics].map((topic) => ({ topic, numPartitions: retryPartitions })),
  ];
}

/**
 * Creates every topic the modules use (as the admin principal: modules get no Create right) and
 * grants each module its access. Idempotent. Used by `kafka.sh acls` and the security e2e.
 */
export async function grantModuleAccess(
  admin: Admin,
  naming: KafkaNaming,
  modules: ModuleName[],
  options: TopicPlanOptions = {},
): Promise<ModuleAccess[]> {
  const access = modules.map((m) => moduleAccess(naming, m));
  const existing = new Set(await admin.listTopics());
  const missing = topicPlan(naming, modules, options).filter((t) => !existing.has(t.topic));
  if (missing.length > 0) await admin.createTopics({ waitForLeaders: true, topics: missing });
  const allow = { host: '*', permissionType: AclPermissionTypes.ALLOW };
  await admin.createAcls({
    acl: access.flatMap((a) => [
      ...a.reads.map((t) => ({ ...allow, principal: a.principal, resourceType: AclResourceTypes.TOPIC, resourceName: t, resourcePatternType: ResourcePatternTypes.LITERAL, operation: AclOperationTypes.READ })),
      ...a.writes.map((t) => ({ ...allow, principal: a.principal, resourceType: AclResourceTypes.TOPIC, resourceName: t, resourcePatternType: ResourcePatternTypes.LITERAL, operation: AclOperationTypes.WRITE })),
      { ...allow, principal: a.principal, resourceType: AclResourceTypes.GROUP, resourceName: a.group, resourcePatternType: ResourcePatternTypes.LITERAL, operation: AclOperationTypes.READ },
      ...a.describes.map((t) => ({ ...allow, principal: a.principal, resourceType: AclResourceTypes.TOPIC, resourceName: t, resourcePatternType: ResourcePatternTypes.LITERAL, operation: AclOperationTypes.DESCRIBE })),
      ...[AclOperationTypes.READ, AclOperationTypes.WRITE].map((operation) => ({ ...allow, principal: a.principal, resourceType: AclResourceTypes.TOPIC, resourceName: a.retryPrefix, resourcePatternType: ResourcePatternTypes.PREFIXED, operation })),
      // The inbox pruner reads how long the topics it consumes keep events (retention.ms, segment.ms).
      ...a.reads.map((t) => ({ ...allow, principal: a.principal, resourceType: AclResourceTypes.TOPIC, resourceName: t, resourcePatternType: ResourcePatternTypes.LITERAL, operation: AclOperationTypes.DESCRIBE_CONFIGS })),
      { ...allow, principal: a.principal, resourceType: AclResourceTypes.TOPIC, resourceName: a.retryPrefix, resourcePatternType: ResourcePatternTypes.PREFIXED, operation: AclOperationTypes.DESCRIBE_CONFIGS },
      // The DLQ reader joins a throwaway group and deletes it afterwards.
      ...[AclOperationTypes.READ, AclOperationTypes.DELETE].map((operation) => ({ ...allow, principal: a.principal, resourceType: AclResourceTypes.GROUP, resourceName: `${a.group}.`, resourcePatternType: ResourcePatternTypes.PREFIXED, operation })),
    ]),
  });
  return access;
}
