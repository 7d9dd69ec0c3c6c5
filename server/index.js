// `npm start`: the reference server with the demo, on localhost.
import { serve } from './serve.js';

try {
  await serve({ configFile: process.argv[2] ?? null });
} catch (err) {
  console.error(`rekindle: ${err.message}`);
  process.exit(1);
}
