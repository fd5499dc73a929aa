import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fastifyStatic from '@fastify/static';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { AppError } from '@onboarding/service-kit';

/** Where the built console is: the `dist` of the @onboarding/console workspace, which the gateway depends on. */
export function defaultConsoleDir(): string {
  return join(dirname(require.resolve('@onboarding/console/package.json')), 'dist');
}

const INDEX = 'index.html';
/** Vite names every built asset after its content hash, so a file under /admin/assets/ never changes. */
const ASSETS_PREFIX = '/admin/assets/';

/**
 * Serves the console's single-page app under /admin/: hashed assets cached for a year, index.html never cached (it
 * names the current assets), and every other /admin/ path answered with index.html so a client route (a driver's
 * page) can be reloaded or linked. The app has no inline script, which the console's Content-Security-Policy forbids.
 */
export async function serveConsole(app: FastifyInstance, { root }: { root: string }): Promise<void> {
  if (!existsSync(join(root, INDEX))) {
    app.log.warn({ root }, 'the console is not built: /admin/ is not served (npm run build builds it)');
    return;
  }
  await app.register(fastifyStatic, {
    root,
    prefix: '/admin/',
    index: false,
    wildcard: false,
    // setHeaders below decides; @fastify/static's own header would say max-age=0 for everything.
    cacheControl: false,
    setHeaders: (res, path) => {
      res.setHeader('cache-control', path.endsWith(INDEX) ? 'no-cache' : 'public, max-age=31536000, immutable');
    },
  });
  app.get('/admin', (_request, reply) => reply.redirect('/admin/', 301));
  const index = (_request: FastifyRequest, reply: FastifyReply) => {
    reply.header('cache-control', 'no-cache');
    return reply.sendFile(INDEX, { cacheControl: false });
  };
  app.get('/admin/', index);
  app.get('/admin/*', (request, reply) => {
    // A missing asset is a 404, not the app's page: a browser would otherwise run HTML as a script or style.
    if (request.url.startsWith(ASSETS_PREFIX)) throw AppError.notFound(`No console asset ${request.url.split('?')[0]}`);
    return index(request, reply);
  });
}
