import { Global, Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { AdminGuard } from './admin.guard';
import { DomainErrorFilter } from './domain-error.filter';
import { HttpDrain } from './http-drain';

@Global()
@Module({
  providers: [AdminGuard, HttpDrain, { provide: APP_FILTER, useClass: DomainErrorFilter }],
  exports: [AdminGuard, HttpDrain],
})
export class HttpPlatformModule {}
