// Profile fragments on the server: the core's merge rule (core/profile/fragment.h,
// docs/http-api.md "Fragments"): field-wise last-writer-wins by ts, then origin,
// then canonical JSON text of the value, all in byte order; identities are the
// union; the profile id is the smaller non-empty one. Commutative, associative
// and idempotent, so every copy converges whatever the order of arrival.

/** JSON text with object keys sorted, the form the core compares values by. */
export function canonicalJson(value) {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const keys = Object.keys(value).sort(compareBytes);
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`).join(',')}}`;
}

// Byte order of the UTF-8 encodings, which is what the core compares.
function compareBytes(a, b) {
  if (a === b) return 0;
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return Buffer.compare(x, y);
}

/** True when field write `a` wins over `b`. */
export function wins(a, b) {
  if (a.ts !== b.ts) return a.ts > b.ts;
  const byOrigin = compareBytes(a.origin, b.origin);
  if (byOrigin !== 0) return byOrigin > 0;
  return compareBytes(canonicalJson(a.value), canonicalJson(b.value)) > 0;
}

/** Merges fragment `b` into a copy of `a`. */
export function mergeFragments(a, b) {
  const out = { fields: { ...(a.fields ?? {}) } };
  const ids = [a.profileId, b.profileId].filter((x) => typeof x === 'string' && x !== '').sort(compareBytes);
  if (ids.length > 0) out.profileId = ids[0];
  const identities = {};
  for (const f of [a, b]) {
    for (const [ns, list] of Object.entries(f.identities ?? {})) {
      const set = new Set([...(identities[ns] ?? []), ...list]);
      identities[ns] = [...set].sort(compareBytes);
    }
  }
  if (Object.keys(identities).length > 0) out.identities = identities;
  for (const [key, field] of Object.entries(b.fields ?? {})) {
    const mine = out.fields[key];
    if (mine === undefined || wins(field, mine)) out.fields[key] = field;
  }
  return out;
}

/** The current value of a field, or undefined (a deletion reads as undefined). */
export function fieldValue(fragment, key) {
  const v = fragment.fields?.[key]?.value;
  return v === null ? undefined : v;
}

/** The attributes a fragment holds, as a nested object (deletions left out). */
export function attributesOf(fragment) {
  // Null-prototype objects: a field named __proto__ is data, never a prototype.
  const out = Object.create(null);
  for (const [key, field] of Object.entries(fragment.fields ?? {})) {
    if (!key.startsWith('attributes.') || field.value === null) continue;
    const parts = key.split('.').slice(1);
    let node = out;
    for (const part of parts.slice(0, -1)) {
      if (node[part] === null || typeof node[part] !== 'object' || Array.isArray(node[part])) node[part] = Object.create(null);
      node = node[part];
    }
    node[parts[parts.length - 1]] = field.value;
  }
  return out;
}

/** The consent decisions a fragment holds: `{purpose: state}`. */
export function consentOf(fragment) {
  const out = Object.create(null);
  for (const [key, field] of Object.entries(fragment.fields ?? {})) {
    if (key.startsWith('consent.') && typeof field.value === 'string') out[key.slice('consent.'.length)] = field.value;
  }
  return out;
}

/** The fragment without identities: what a device may read back. */
export function publicFragment(fragment, profileId) {
  return { profileId, fields: fragment.fields ?? {} };
}
