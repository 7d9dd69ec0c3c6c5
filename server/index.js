// `npm start`: the demo (server/demo/start.js): the reference server with the
// demo store at /, the mailbox and the campaign dashboard, on 127.0.0.1.
// `node server/index.js CONFIG.json` runs the plain server with that
// configuration instead (as `rekindle serve --config CONFIG.json` does).
import { serve } from './serve.js';
import { startDemo } from './demo/start.js';

try {
  if (process.argv[2]) await serve({ configFile: process.argv[2] });
  else await startDemo({ signals: true });
} catch (err) {
  console.error(`rekindle: ${err.message}`);
  process.exit(1);
}
