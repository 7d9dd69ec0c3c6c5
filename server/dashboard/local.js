// Which requests the local-only routes answer (the dashboard's admin-token
// hand-off and the demo's mailbox API): a browser or tool on this machine, on
// this server's own origin. Not enough for a server on a network: there those
// routes refuse, and the dashboard asks for the admin token instead.

const LOOPBACK_ADDRESSES = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);
const LOCAL_HOSTNAMES = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * True for a request from this machine to this server by a local name, and
 * not made by a page of another origin. The socket address is used, never a
 * forwarded header; the Host check defeats DNS rebinding (a page of evil.example
 * whose name resolves to 127.0.0.1 sends `Host: evil.example`).
 */
export function isLocalRequest(request) {
  if (!LOOPBACK_ADDRESSES.has(request.socket?.remoteAddress ?? '')) return false;
  const host = String(request.headers.host ?? '').toLowerCase();
  const hostname = host.replace(/:\d+$/, '');
  if (!LOCAL_HOSTNAMES.has(hostname)) return false;
  const fetchSite = request.headers['sec-fetch-site'];
  if (fetchSite !== undefined && fetchSite !== 'same-origin' && fetchSite !== 'none') return false;
  const origin = request.headers.origin;
  if (origin !== undefined && origin !== `http://${host}`) return false;
  return true;
}

/** A fastify preHandler that answers 403 unless `isLocalRequest`. */
export async function localOnly(request, reply) {
  if (isLocalRequest(request)) return;
  reply.code(403).send({
    error: 'this route answers only a browser on the same machine, at http://127.0.0.1 or http://localhost',
  });
  return reply;
}
