// `npm start`: serves the demo on localhost and prints where to look.
import { buildServer } from './app.js';

const port = Number(process.env.PORT ?? 8080);
const host = process.env.HOST ?? '127.0.0.1';

const app = await buildServer();
try {
  await app.listen({ port, host });
} catch (err) {
  console.error(`rekindle: cannot listen on ${host}:${port}: ${err.message}`);
  console.error('Set PORT to another port, e.g. PORT=8081 npm start');
  process.exit(1);
}
const base = `http://${host === '0.0.0.0' ? 'localhost' : host}:${port}`;
console.log(`\nRekindle demo:  ${base}/`);
console.log('Try: open the page; it loads the engine, tracks a page view and shows the result.\n');

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => app.close().then(() => process.exit(0)));
}
