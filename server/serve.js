// Starts the reference server: `rekindle serve` (and `node server/index.js CONFIG.json`).
import { loadConfig } from './config.js';
import { createServer } from './app.js';
import { dashboardPlugin } from './dashboard/plugin.js';

/**
 * Loads the configuration, opens the database, mounts the campaign dashboard
 * at /dashboard, listens, and starts the scheduler.
 */
export async function serve({ configFile = null, env = process.env, overrides = {}, print = console.log, plugins = [] } = {}) {
  const { config, generatedToken } = loadConfig({ file: configFile, env, overrides });
  // The dashboard never hands out the admin token here (the demo's local hand-off): behind a
  // reverse proxy on the same machine every visitor would look local. The operator pastes it.
  const server = await createServer({ config, plugins: [dashboardPlugin({ localToken: false }), ...plugins] });
  try {
    await server.app.listen({ port: config.port, host: config.host });
  } catch (err) {
    await server.app.close();
    const e = new Error(`cannot listen on ${config.host}:${config.port}: ${err.message}. Set PORT (or "port" in the configuration) to another port.`);
    e.code = 'LISTEN';
    throw e;
  }
  server.scheduler.start();
  const { port } = server.app.server.address();
  const base = `http://${config.host === '0.0.0.0' ? 'localhost' : config.host}:${port}`;
  print(`Rekindle server: ${base}/  (database ${config.database})`);
  print(`Dashboard: ${base}/dashboard  (asks for the admin token)`);
  if (generatedToken) print(`Admin token (generated for this run; set REKINDLE_ADMIN_TOKEN to fix it): ${config.adminToken}`);
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.once(signal, () => server.app.close().then(() => process.exit(0)));
  }
  return { ...server, base };
}
