import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsISO8601, IsOptional } from 'class-validator';

export const BUCKETS = { '1m': 1, '5m': 5, '15m': 15, '1h': 60 } as const;
export type BucketSize = keyof typeof BUCKETS;

export class GetTimeseriesQuery {
  @ApiPropertyOptional({ description: 'start (inclusive, ISO 8601 with Z or an offset); default `to` minus 30 buckets' })
  @IsOptional()
  @IsISO8601({ strict: true })
  from?: string;

  @ApiPropertyOptional({ description: 'end (exclusive, ISO 8601 with Z or an offset; inside a minute: the end of that minute); default now' })
  @IsOptional()
  @IsISO8601({ strict: true })
  to?: string;

  @ApiPropertyOptional({ enum: Object.keys(BUCKETS), default: '1m' })
  @IsOptional()
  @IsIn(Object.keys(BUCKETS))
  bucket?: BucketSize;
}
