import { Controller, Get, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { FastifyReply } from 'fastify';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

interface Asset {
  type: string;
  body: Buffer;
}

function asset(path: string, type: string): Asset {
  return { type, body: readFileSync(path) };
}

// Same-origin only: the page, its scripts, the REST API and the socket; nothing from the internet.
const CSP = "default-src 'self'; connect-src 'self' ws: wss:; style-src 'self' 'unsafe-inline'; img-src 'self' data:";

/**
 * The dashboard: a static page and its script (copied to dist as assets by nest-cli), plus Chart.js
 * from node_modules. The socket.io client is served by socket.io itself at /socket.io/socket.io.js.
 * Files are read once at start-up, so a missing one fails the boot, not a page load.
 */
@ApiExcludeController()
@Controller('dashboard')
export class DashboardController {
  private readonly page = asset(join(__dirname, 'public', 'index.html'), 'text/html; charset=utf-8');
  private readonly script = asset(join(__dirname, 'public', 'dashboard.js'), 'text/javascript; charset=utf-8');
  private readonly styles = asset(join(__dirname, 'public', 'dashboard.css'), 'text/css; charset=utf-8');
  private readonly chart = asset(join(dirname(require.resolve('chart.js')), 'chart.umd.js'), 'text/javascript; charset=utf-8');

  @Get()
  index(@Res() reply: FastifyReply): void {
    this.send(reply, this.page);
  }

  @Get('dashboard.js')
  app(@Res() reply: FastifyReply): void {
    this.send(reply, this.script);
  }

  @Get('dashboard.css')
  css(@Res() reply: FastifyReply): void {
    this.send(reply, this.styles);
  }

  @Get('vendor/chart.umd.js')
  chartJs(@Res() reply: FastifyReply): void {
    this.send(reply, this.chart);
  }

  private send(reply: FastifyReply, { type, body }: Asset): void {
    void reply
      .header('content-type', type)
      .header('cache-control', 'no-cache')
      .header('x-content-type-options', 'nosniff')
      .header('content-security-policy', CSP)
      .send(body);
  }
}
