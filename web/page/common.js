// Small helpers the runtime's modules share, so that the script-tag build
// holds one copy of each. No dependencies.

/** True for an object that is not null and not an array (what JSON calls an object). */
export const isObject = (value) => value !== null && typeof value === 'object' && !Array.isArray(value);

/** 'null', 'an array' or the typeof of a value, for error messages. */
export function describeType(value) {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}

/** The message of an error, or the value as text. */
export function describe(err) {
  return err && typeof err.message === 'string' ? err.message : String(err);
}

/** Reports an error from a callback without breaking the caller. */
export function reportError(err) {
  if (typeof globalThis.reportError === 'function') globalThis.reportError(err);
  else setTimeout(() => { throw err; });
}
