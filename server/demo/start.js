// `npm start`: the reference server with the demo mounted: the store at /,
// the mailbox at /mailbox (a real SMTP sink on 127.0.0.1, and the SMS
// webhook), the dashboard at /dashboard, the demo artifact with durations
// short enough to watch, and the scheduler running. Tests start the same thing
// with a clock of their own.
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../config.js';
import { createServer } from '../app.js';
import { Mailbox } from './mailbox.js';
import { demoPlugin } from './plugin.js';
import { dashboardPlugin } from '../dashboard/plugin.js';

export const DEMO_SITE = 'demo';
export const DEMO_WRITE_KEY = 'demo-store-key';
export const DEMO_ARTIFACT = fileURLToPath(new URL('./artifact.json', import.meta.url));
export const DEMO_MESSAGES = fileURLToPath(new URL('./messages.json', import.meta.url));
const DEFAULT_DATABASE = fileURLToPath(new URL('../../data/demo.db', import.meta.url));
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '::1']);

/**
 * Starts the demo. Options: `env` (PORT, HOST, REKINDLE_DB, REKINDLE_ADMIN_TOKEN are read),
 * `port`, `database`, `smtpPort` (0: any free port), `clock` ({now()}), `schedulerIntervalMs`,
 * `print` (a line printer; the URLs and the hint go there), `signals` (close on SIGINT/SIGTERM).
 * Resolves to the server (createServer's parts) plus `base`, `mailbox` and `close()`.
 */
export async function startDemo({
  env = process.env, port, database, smtpPort = Number(env.DEMO_SMTP_PORT ?? 0), clock,
  schedulerIntervalMs = 1000, print = console.log, signals = false,
} = {}) {
  const mailbox = new Mailbox({ clock });
  await mailbox.listen(smtpPort);
  const webhookSecret = randomBytes(18).toString('base64url');
  let config;
  let generatedToken;
  try {
    ({ config, generatedToken } = loadConfig({
      env,
      overrides: {
        ...(port !== undefined ? { port } : {}),
        database: database ?? env.REKINDLE_DB ?? DEFAULT_DATABASE,
        // The store is served by this server, so its origin is this server's; the write key is public.
        // The demo has no backend to sign identities: the email a visitor leaves is trusted.
        sites: [{ id: DEMO_SITE, writeKeys: [DEMO_WRITE_KEY], origins: ['*'], artifact: DEMO_ARTIFACT, trustPageIdentities: true }],
        messages: DEMO_MESSAGES,
        scheduler: { enabled: true, intervalMs: schedulerIntervalMs, batch: 100 },
        delivery: {
          smtp: { host: '127.0.0.1', port: mailbox.port, secure: false, from: 'Kindling & Co. <shop@kindling.example>', timeoutMs: 5000 },
          // The URL is known once the server listens (below).
          sms: { webhookUrl: 'http://127.0.0.1/demo/sms', headers: { 'x-demo-webhook-secret': webhookSecret }, timeoutMs: 5000 },
          maxAttempts: 4,
          backoff: { baseMs: 5_000, maxMs: 60_000 },
          siteUrl: '',
        },
      },
    }));
  } catch (err) {
    await mailbox.close();
    throw err;
  }
  const local = LOOPBACK_HOSTS.has(config.host);
  const plugins = [demoPlugin({ mailbox, webhookSecret }), dashboardPlugin({ localToken: local })];
  let server;
  try {
    server = await createServer({ config, clock, plugins });
  } catch (err) {
    await mailbox.close();
    throw err;
  }
  await refreshArtifact(server);
  try {
    await server.app.listen({ port: config.port, host: config.host });
  } catch (err) {
    await server.app.close();
    const e = new Error(`cannot listen on ${config.host}:${config.port}: ${err.message}. Set PORT to another port.`);
    e.code = 'LISTEN';
    throw e;
  }
  const { port: actualPort } = server.app.server.address();
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  const base = `http://${host.includes(':') ? `[${host}]` : host}:${actualPort}`;
  // The dispatcher reads these at send time: the SMS webhook and the links in the messages.
  config.delivery.sms.webhookUrl = `${base}/demo/sms`;
  config.delivery.siteUrl = base;
  server.scheduler.start();

  print(`Rekindle demo (database ${config.database}; emails go to an SMTP sink on 127.0.0.1:${mailbox.port})`);
  print('');
  print(`  Store      ${base}/`);
  print(`  Mailbox    ${base}/mailbox`);
  print(`  Dashboard  ${base}/dashboard`);
  print('');
  print('Try it: accept the privacy choices, leave an email, add something to the cart and close the tab;');
  print('the reminder reaches the mailbox about 90 seconds later. Then come back, click the tile and buy.');
  if (generatedToken) print(`\nAdmin token for the API, generated for this run (set REKINDLE_ADMIN_TOKEN to fix it): ${config.adminToken}`);
  if (!local) print('The dashboard asks for the admin token: this server is not on 127.0.0.1.');

  const close = () => server.app.close();
  if (signals) {
    for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => close().then(() => process.exit(0)));
  }
  return { ...server, base, mailbox, close };
}

// The demo's artifact file is the campaign: a database kept from an earlier
// run gets the file's current version (through the API's own validation).
async function refreshArtifact(server) {
  const text = await readFile(DEMO_ARTIFACT, 'utf8');
  const stored = server.store.getArtifact(DEMO_SITE)?.body;
  if (stored !== undefined && JSON.stringify(JSON.parse(stored)) === JSON.stringify(JSON.parse(text))) return;
  const res = await server.app.inject({
    method: 'PUT', url: `/v1/artifact?site=${DEMO_SITE}`, payload: text,
    headers: { authorization: `Bearer ${server.config.adminToken}`, 'content-type': 'application/json' },
  });
  if (res.statusCode !== 200) throw new Error(`the demo artifact ${DEMO_ARTIFACT} was refused: ${res.body}`);
}
