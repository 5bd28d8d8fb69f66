import { createReadStream, existsSync, statSync } from 'node:fs';
import { extname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { LANDING_PAGE } from '../landing-page.js';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/** Vite puts content-hashed files under `assets/`: their name changes with their content, so they never go stale. */
const HASHED_ASSET = /^assets\/.+-[\w-]{8,}\.\w+$/;

type UiHandler = (request: FastifyRequest, reply: FastifyReply) => unknown;

/**
 * Serves the built web UI from `webDir`: its files, and `index.html` for any other path without a file extension
 * (the single-page app routes itself). Paths never leave `webDir`. Without a build (no `index.html`), `/` shows the
 * landing page instead.
 */
export function createWebUiHandler(webDir: string | undefined): UiHandler {
  const root = webDir === undefined ? undefined : resolve(webDir);
  const indexFile = root === undefined ? undefined : join(root, 'index.html');
  return (request, reply) => {
    const rawPath = request.url.split('?', 1)[0]!;
    let path: string;
    try {
      path = decodeURIComponent(rawPath);
    } catch {
      return notFound(reply, rawPath);
    }
    if (indexFile === undefined || root === undefined || !existsSync(indexFile)) {
      if (path === '/' || path === '/index.html') return reply.type('text/html; charset=utf-8').send(LANDING_PAGE);
      return notFound(reply, rawPath);
    }
    const file = fileInside(root, path);
    if (file !== undefined) {
      const rel = relative(root, file).split(sep).join('/');
      const type = CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream';
      return reply
        .header('content-type', type)
        .header('x-content-type-options', 'nosniff')
        .header('cache-control', HASHED_ASSET.test(rel) ? 'public, max-age=31536000, immutable' : 'no-cache')
        .send(createReadStream(file));
    }
    // A missing file (it has an extension) is a 404; anything else is a route of the app.
    if (extname(path) !== '' || path.startsWith('/files/')) return notFound(reply, rawPath);
    return reply
      .header('content-type', 'text/html; charset=utf-8')
      .header('cache-control', 'no-cache')
      .send(createReadStream(indexFile));
  };
}

/** The regular file that `urlPath` names inside `root`, or undefined (missing, a folder, or outside `root`). */
function fileInside(root: string, urlPath: string): string | undefined {
  const parts = urlPath.split(/[\\/]+/).filter((p) => p.length > 0 && p !== '.');
  if (parts.length === 0) return join(root, 'index.html');
  if (parts.some((p) => p === '..' || p.includes('\0'))) return undefined;
  const target = resolve(root, join(...parts));
  const rel = relative(root, target);
  if (rel === '' || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) return undefined;
  try {
    return statSync(target).isFile() ? target : undefined;
  } catch {
    return undefined;
  }
}

function notFound(reply: FastifyReply, path: string): FastifyReply {
  return reply.code(404).type('text/plain; charset=utf-8').send(`Not found: ${path}\n`);
}
