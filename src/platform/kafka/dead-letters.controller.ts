import { BadRequestException, Body, Controller, Get, HttpCode, Param, ParseEnumPipe, Post, Query, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { ArrayMaxSize, IsArray, IsIn, IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min, ValidateIf } from 'class-validator';
import { MODULE_NAMES, ModuleName } from '../config/environment';
import { AdminGuard } from '../http/admin.guard';
import { DeadLetter, DeadLetters, DLQ_CURSOR_PATTERN } from './dead-letters';

const moduleParam = new ParseEnumPipe(Object.fromEntries(MODULE_NAMES.map((m) => [m, m])), {
  exceptionFactory: () => new BadRequestException(`module must be one of: ${MODULE_NAMES.join(', ')}`),
});

export class ListDeadLettersQuery {
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(10_000)
  limit = 1000;

  /** Only the letters not redriven yet (read from the redrive mark on, however long the topic is). */
  @IsOptional()
  @IsIn(['true', 'false'], { message: 'pending must be true or false' })
  pending?: 'true' | 'false';

  /** The `nextCursor` of the page before. */
  @IsOptional()
  @Matches(DLQ_CURSOR_PATTERN, { message: 'cursor must be the nextCursor of an earlier page' })
  cursor?: string;
}

export class RedriveDto {
  /**
   * Dead letters to send back, by `<partition>:<offset>` or event id; omit for all not yet redriven.
   * `null` is refused, not read as "omitted": a script sending `{"ids": selected ?? null}` would
   * otherwise redrive the whole topic, poison included.
   */
  @ValidateIf((dto: RedriveDto) => dto.ids !== undefined)
  @IsArray({ message: 'ids must be an array of letter ids or event ids (omit it to redrive everything not redriven yet)' })
  @ArrayMaxSize(10_000)
  @IsString({ each: true })
  @MaxLength(100, { each: true })
  ids?: string[];
}

/** Admin: what each module parked, and sending it back to that module (its first retry topic) once the cause is fixed. */
@ApiTags('admin')
@ApiBearerAuth()
@UseGuards(AdminGuard)
@Controller('admin/dlq')
export class DeadLettersController {
  constructor(private readonly deadLetters: DeadLetters) {}

  @Get(':module')
  async list(
    @Param('module', moduleParam) module: ModuleName,
    @Query() query: ListDeadLettersQuery,
  ): Promise<{ count: number; items: DeadLetter[]; nextCursor: string | null }> {
    const { items, nextCursor } = await this.deadLetters.list(module, { limit: query.limit, pending: query.pending === 'true', cursor: query.cursor });
    return { count: items.length, items, nextCursor };
  }

  @Post(':module/redrive')
  @HttpCode(200)
  redrive(@Param('module', moduleParam) module: ModuleName, @Body() dto: RedriveDto): Promise<{ redriven: string[] }> {
    return this.deadLetters.redrive(module, dto.ids);
  }
}
