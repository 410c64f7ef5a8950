import { Module } from '@nestjs/common';
import { BenchController } from './bench.controller';
import { BenchStats } from './bench-stats';

/** Loaded only when BENCH_MODE=true (see AppModule): the no-op baseline route and latency stats. */
@Module({ controllers: [BenchController], providers: [BenchStats] })
export class BenchModule {}
