// Which identities a site's pages may link. The write key is public, so an
// identity a page claims proves nothing: linked as such, anyone could join a
// stranger's email to their own device, read the merged profile's fields back
// and have the server mail that stranger. A page's identity is linked only
// with a proof from the site's backend, an HMAC-SHA256 of "namespace:id"
// under the site's `identitySecret`, or when the site trusts its pages
// (`trustPageIdentities`, for demos and sites where nothing sensitive is kept).
import { createHmac, timingSafeEqual } from 'node:crypto';

/** The proof a site's backend gives the page for `namespace:id` (hex). */
export function identityProof(secret, namespace, id) {
  return createHmac('sha256', secret).update(`${namespace}:${id}`).digest('hex');
}

/** Whether `site` links `namespace:id` on a page's word, given `proof` (or none). */
export function pageMayLink(site, namespace, id, proof) {
  if (site.trustPageIdentities === true) return true;
  if (typeof site.identitySecret !== 'string' || typeof proof !== 'string' || !/^[0-9a-f]{64}$/.test(proof)) return false;
  return timingSafeEqual(Buffer.from(identityProof(site.identitySecret, namespace, id), 'hex'), Buffer.from(proof, 'hex'));
}

/** Why `pageMayLink` refused, for the response. */
export function refusal(site, proof) {
  if (typeof site.identitySecret !== 'string') {
    return 'this site links no identity from a page: set sites[].identitySecret and send a proof from your backend';
  }
  return proof === undefined
    ? 'is required: HMAC-SHA256 of "namespace:id" under the site\'s identitySecret, in hex'
    : 'does not match: HMAC-SHA256 of "namespace:id" under the site\'s identitySecret, in hex';
}
