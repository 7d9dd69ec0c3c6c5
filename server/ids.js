// The engine's deterministic ids (docs/journeys.md, "Deterministic ids"):
// FNV-1a 64 over the UTF-8 bytes of the parts joined by U+001F, as 16
// lowercase hex digits. The reporting derives a journey tile's proposition id
// from its instance and step, so feedback that names only the proposition is
// attributed to its journey and step.
const OFFSET = 0xcbf29ce484222325n;
const PRIME = 0x100000001b3n;
const MASK = (1n << 64n) - 1n;

export function stableId(parts) {
  let h = OFFSET;
  for (const byte of Buffer.from(parts.join('\u001f'), 'utf8')) {
    h ^= BigInt(byte);
    h = (h * PRIME) & MASK;
  }
  return h.toString(16).padStart(16, '0');
}
