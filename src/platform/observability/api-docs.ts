import { Logger } from '@nestjs/common';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';

/** Swagger UI's assets are served by @fastify/static, which needs require(esm) (Node ≥ 20.19, not jest's runtime). */
function canServeUi(): boolean {
  try {
    require('@fastify/static');
    return true;
  } catch {
    return false;
  }
}

/**
 * OpenAPI from the controllers and DTOs: Swagger UI at /docs, the document at /docs-json and
 * /docs-yaml. The events are described in AsyncAPI at /docs/events.
 */
export function setupApiDocs(app: NestFastifyApplication): void {
  const config = new DocumentBuilder()
    .setTitle('Shop API')
    .setDescription(
      'REST API of the shop. Send `X-Request-Id` to follow a request through every event it causes ' +
        '(it becomes the correlation id). The events are described in AsyncAPI at [/docs/events](/docs/events).',
    )
    .setVersion('1.0.0')
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'ADMIN_TOKEN, for the admin endpoints' })
    .build();
  const document = SwaggerModule.createDocument(app, config);
  const ui = canServeUi();
  if (!ui) new Logger('ApiDocs').warn('@fastify/static cannot load here: Swagger UI is off, /docs-json is served');
  SwaggerModule.setup('docs', app, document, { customSiteTitle: 'Shop API', swaggerUiEnabled: ui });
}
