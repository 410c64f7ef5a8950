import { Provider } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Environment } from '../../../platform/config/environment';
import { LiveFeed } from './live-feed';
import { LIVE_FLUSH_MS } from './live.gateway';

export const liveProviders: Provider[] = [
  {
    provide: LiveFeed,
    inject: [ConfigService],
    useFactory: (config: ConfigService<Environment, true>) => new LiveFeed(config.get('ANALYTICS_LIVE_HISTORY_MS', { infer: true })),
  },
  {
    provide: LIVE_FLUSH_MS,
    inject: [ConfigService],
    useFactory: (config: ConfigService<Environment, true>) => config.get('ANALYTICS_LIVE_FLUSH_MS', { infer: true }),
  },
];
