// The campaign dashboard at /dashboard: a static page that reads the admin
// reporting API (GET /v1/admin/reports/journeys) with the admin token and
// draws it with uPlot. The page holds no data of its own and the server adds
// no unauthenticated route to the reports: the browser sends the token.
//
// Where the token comes from, in order: `#token=…` in the URL (then removed
// from the address bar), this tab's sessionStorage, the token form, or, when
// the plugin is mounted with `localToken: true` (the `npm start` demo on
// 127.0.0.1), GET /dashboard/api/token, which answers only a browser on the
// same machine and origin (server/dashboard/local.js).
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { localOnly } from './local.js';

const publicDir = fileURLToPath(new URL('./public/', import.meta.url));
const uplotDir = dirname(fileURLToPath(import.meta.resolve('uplot')));

const CSP = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
  + "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8' };

function file(app, url, path, headers = {}) {
  const type = TYPES[path.slice(path.lastIndexOf('.'))];
  app.get(url, async (request, reply) => {
    const body = await readFile(path);
    reply.type(type).header('cache-control', 'no-cache');
    for (const [k, v] of Object.entries(headers)) reply.header(k, v);
    return reply.send(body);
  });
}

/** The dashboard plugin; `localToken` hands the admin token to a browser on this machine (demo only). */
export function dashboardPlugin({ localToken = false } = {}) {
  return async function dashboard(app, server) {
    const page = { 'content-security-policy': CSP, 'x-frame-options': 'DENY', 'referrer-policy': 'no-referrer' };
    file(app, '/dashboard', `${publicDir}index.html`, page);
    file(app, '/dashboard/dashboard.js', `${publicDir}dashboard.js`);
    file(app, '/dashboard/dashboard.css', `${publicDir}dashboard.css`);
    file(app, '/dashboard/vendor/uPlot.iife.min.js', `${uplotDir}/uPlot.iife.min.js`);
    file(app, '/dashboard/vendor/uPlot.min.css', `${uplotDir}/uPlot.min.css`);

    app.get('/dashboard/api/token', { preHandler: localToken ? localOnly : refuse }, async (request, reply) => {
      reply.header('cache-control', 'no-store');
      return { token: server.config.adminToken, sites: server.config.sites.map((s) => s.id) };
    });
  };
}

async function refuse(request, reply) {
  reply.code(404).send({ error: 'this server does not hand out its admin token: paste it into the dashboard' });
  return reply;
}
