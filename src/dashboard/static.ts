/**
 * The dashboard page and its assets: a handful of files, read once at registration and served from
 * memory (no build step, no static-file plugin). Only files present in the directory are served,
 * so a request can never reach outside it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { ApiErrorSchema, HttpError } from '../api/errors.ts';

export const PUBLIC_DIR = fileURLToPath(new URL('./public/', import.meta.url));

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

interface Asset {
  body: Buffer;
  type: string;
}

export function loadAssets(dir: string): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  for (const name of readdirSync(dir)) {
    const type = CONTENT_TYPES[extname(name)];
    if (type) assets.set(name, { body: readFileSync(join(dir, name)), type });
  }
  return assets;
}

/**
 * The page and its scripts hold no site data, and a browser navigating to `/` cannot send a bearer
 * header: they are public. Every data route the page calls needs viewer (the page sends the token).
 */
const ROUTE = { config: { role: 'public' } } as const;

export function staticRoutes(dir: string = PUBLIC_DIR) {
  const assets = loadAssets(dir);
  const index = assets.get('index.html');
  if (!index) throw new Error(`dashboard page missing: no index.html in ${dir}`);
  // Plain (untyped) routes: a typed 404 reply would make fastify's types refuse the raw bytes sent on 200.
  return (app: FastifyInstance) => {
    app.get(
      '/',
      {
        ...ROUTE,
        schema: {
          summary: 'The dashboard page (HTML)',
          tags: ['dashboard'],
        },
      },
      async (_req, reply) => reply.type(index.type).header('cache-control', 'no-cache').send(index.body),
    );
    app.get<{ Params: { file: string } }>(
      '/dashboard/:file',
      {
        ...ROUTE,
        schema: {
          summary: 'A dashboard asset (script, style sheet)',
          tags: ['dashboard'],
          params: z.object({ file: z.string().min(1).max(100) }),
          response: { 404: ApiErrorSchema },
        },
      },
      async (req, reply) => {
        const asset = assets.get(req.params.file);
        if (!asset) throw new HttpError(404, 'HOTAISLE_NOT_FOUND', `no dashboard asset ${req.params.file}`);
        return reply.type(asset.type).header('cache-control', 'no-cache').send(asset.body);
      },
    );
  };
}
