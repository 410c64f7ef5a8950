import { Body, Controller, Get, HttpCode, Post } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { BenchStats } from './bench-stats';

/**
 * Bench-only routes (BENCH_MODE=true): a no-op endpoint that goes through the same Fastify adapter,
 * guards, global pipe and filters as POST /orders, and the end-to-end latencies the transport saw.
 */
@ApiExcludeController()
@Controller('bench')
export class BenchController {
  constructor(private readonly stats: BenchStats) {}

  /** Reads the body like POST /orders does and answers 201 without any work. */
  @Post('noop')
  noop(@Body() body: unknown): { ok: boolean } {
    return { ok: body !== undefined };
  }

  @Get('stats')
  snapshot(): ReturnType<BenchStats['snapshot']> {
    return this.stats.snapshot();
  }

  @Post('reset')
  @HttpCode(204)
  reset(): void {
    this.stats.reset();
  }
}
