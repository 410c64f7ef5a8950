import { DynamicModule, Module, Type } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { AnalyticsModule } from './modules/analytics/analytics.module';
import { EmailModule } from './modules/email/email.module';
import { OrderModule } from './modules/order/order.module';
import { WarehouseModule } from './modules/warehouse/warehouse.module';
import { Environment, ModuleName } from './platform/config/environment';
import { BenchModule } from './platform/bench/bench.module';
import { HealthModule } from './platform/health/health.module';
import { HttpPlatformModule } from './platform/http/http-platform.module';
import { KafkaModule } from './platform/kafka/kafka.module';
import { ObservabilityModule, ObservabilityOptions } from './platform/observability/observability.module';
import { SecurityModule } from './platform/security/security.module';

/** The feature modules a process can run; `MODULES` picks among them. */
export const FEATURE_MODULES: Record<ModuleName, Type> = {
  order: OrderModule,
  warehouse: WarehouseModule,
  email: EmailModule,
  analytics: AnalyticsModule,
};

/** Composes the platform with the modules chosen by `MODULES`. */
@Module({})
export class AppModule {
  static forRoot(env: Environment, observability: ObservabilityOptions = {}): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot({ isGlobal: true, ignoreEnvFile: true, skipProcessEnv: true, load: [() => ({ ...env })] }),
        KafkaModule,
        HttpPlatformModule,
        HealthModule,
        SecurityModule,
        ObservabilityModule.forRoot(env, observability),
        ...env.MODULES.map((m) => FEATURE_MODULES[m]),
        // The no-op baseline and latency stats of npm run bench; never loaded otherwise.
        ...(env.BENCH_MODE ? [BenchModule] : []),
      ],
    };
  }
}
