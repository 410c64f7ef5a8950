import { Injectable } from '@nestjs/common';
import { ModuleName } from '../config/environment';
import type { ModuleKafkaServer } from './module-kafka.server';
import type { OutboxRelay } from './outbox-relay';

/** What this process runs, by module: its consumer server and its outbox relay (for health, metrics, shutdown). */
@Injectable()
export class KafkaRegistry {
  readonly servers = new Map<ModuleName, ModuleKafkaServer>();
  readonly relays = new Map<ModuleName, OutboxRelay>();
}
