// Starts the reference server: `npm start` (server/index.js) and `rekindle serve`.
import { loadConfig } from './config.js';
import { createServer } from './app.js';

/** Loads the configuration, opens the database, listens, and starts the scheduler. */
export async function serve({ configFile = null, env = process.env, overrides = {}, print = console.log, plugins = [] } = {}) {
  const { config, generatedToken } = loadConfig({ file: configFile, env, overrides });
  const server = await createServer({ config, plugins });
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
  if (generatedToken) print(`Admin token (generated for this run; set REKINDLE_ADMIN_TOKEN to fix it): ${config.adminToken}`);
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.once(signal, () => server.app.close().then(() => process.exit(0)));
  }
  return { ...server, base };
}
