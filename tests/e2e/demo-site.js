// The reference server with the demo's site (its write key, its artifact), an
// in-memory database and the plugins a test asks for, listening on a free
// port of 127.0.0.1. `scheduler: false` leaves the server's engine runs to
// the test.
import { buildServer } from '../../server/app.js';
import { DEMO_ARTIFACT, DEMO_WRITE_KEY } from '../../server/demo/start.js';

export async function startDemoSite({ plugins = [], scheduler = true } = {}) {
  const app = await buildServer({
    configOverrides: {
      database: ':memory:',
      sites: [{ id: 'demo', writeKeys: [DEMO_WRITE_KEY], origins: ['*'], artifact: DEMO_ARTIFACT }],
      ...(scheduler ? {} : { scheduler: { enabled: false } }),
    },
    plugins,
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, base: `http://127.0.0.1:${app.server.address().port}` };
}
