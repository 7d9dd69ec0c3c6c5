// A bound on how deeply a request body may nest, checked on the text before it
// is parsed: JSON.parse itself copes with any depth, but every walk after it
// (the schema check, JSON.stringify when storing, the canonical JSON of a
// fragment) recurses and would overflow the stack on a hostile body.

/**
 * Deeper than any valid body: an artifact nests at most 64 levels (the
 * engine's limit), a collection batch 3 plus an event's 32.
 */
export const MAX_JSON_DEPTH = 128;

/** The offset where `text` first nests deeper than `max` arrays and objects, or -1. */
export function deeperThan(text, max = MAX_JSON_DEPTH) {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;               // a backslash escapes the next character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return i;
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
    }
  }
  return -1;
}
