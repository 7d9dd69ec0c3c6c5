// Where a text stops being JSON, and what was found there. JSON.parse says
// only sometimes where (its messages vary with the engine's version, and may
// quote the text, which a response never echoes), so a malformed body is
// scanned again to name the line, the column, the byte offset and the one
// character found. The scan runs only after JSON.parse failed, on text whose
// nesting deeperThan (json-depth.js) already bounded.

const LITERALS = { t: 'true', f: 'false', n: 'null' };
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const ESCAPES = new Set(['"', '\\', '/', 'b', 'f', 'n', 'r', 't']);

/**
 * The first syntax error of `text` as `{offset, expected, found}` (`found`
 * null at the end of the text), or null when it is JSON.
 */
export function findSyntaxError(text) {
  const stack = [];
  let i = 0;
  // What may come next: value, valueOrClose (after "["), key, keyOrClose (after "{"), colon, commaOrClose, end.
  let expect = 'value';
  const error = (expected) => ({ offset: i, expected, found: i < text.length ? text[i] : null });
  const afterValue = () => (stack.length > 0 ? 'commaOrClose' : 'end');

  // Moves past the string at i; returns an error or null.
  const string = () => {
    i += 1;
    while (i < text.length) {
      const c = text[i];
      if (c === '"') {
        i += 1;
        return null;
      }
      if (c.charCodeAt(0) < 0x20) return error('an escape (a control character in a string is written \\n, \\u0000, …)');
      if (c === '\\') {
        i += 1;
        if (text[i] === 'u') {
          for (let k = 1; k <= 4; k += 1) {
            if (!/[0-9A-Fa-f]/.test(text[i + k] ?? '')) {
              i += k;
              return error('a hex digit (\\u takes four)');
            }
          }
          i += 5;
        } else if (ESCAPES.has(text[i])) {
          i += 1;
        } else {
          return error('an escape after the backslash (one of " \\ / b f n r t u)');
        }
      } else {
        i += 1;
      }
    }
    return error('the closing " of the string');
  };

  // Moves past the number or literal at i; returns an error or null.
  const scalar = (expected) => {
    const literal = LITERALS[text[i]];
    if (literal) {
      for (const c of literal) {
        if (text[i] !== c) return error(`the rest of ${literal}`);
        i += 1;
      }
      return null;
    }
    NUMBER.lastIndex = i;
    if (!NUMBER.test(text)) {
      if (text[i] !== '-') return error(expected);
      i += 1;
      return error('a digit');
    }
    i = NUMBER.lastIndex;
    return null;
  };

  for (;;) {
    while (i < text.length && ' \t\n\r'.includes(text[i])) i += 1;
    if (i >= text.length) return expect === 'end' ? null : error(describe(expect, stack));
    const c = text[i];
    const top = stack[stack.length - 1];
    let problem = null;
    if (expect === 'end') return error(describe(expect, stack));
    if (expect === 'colon') {
      if (c !== ':') return error(describe(expect, stack));
      i += 1;
      expect = 'value';
      continue;
    }
    if (expect === 'commaOrClose') {
      if (c === ',') {
        i += 1;
        expect = top === '{' ? 'key' : 'value';
      } else if (c === (top === '{' ? '}' : ']')) {
        i += 1;
        stack.pop();
        expect = afterValue();
      } else {
        return error(describe(expect, stack));
      }
      continue;
    }
    if (expect === 'key' || expect === 'keyOrClose') {
      if (expect === 'keyOrClose' && c === '}') {
        i += 1;
        stack.pop();
        expect = afterValue();
        continue;
      }
      if (c !== '"') return error(describe(expect, stack));
      problem = string();
      if (problem) return problem;
      expect = 'colon';
      continue;
    }
    // A value (or, right after "[", the array's end).
    if (expect === 'valueOrClose' && c === ']') {
      i += 1;
      stack.pop();
      expect = afterValue();
      continue;
    }
    if (c === '{' || c === '[') {
      stack.push(c);
      i += 1;
      expect = c === '{' ? 'keyOrClose' : 'valueOrClose';
      continue;
    }
    problem = c === '"' ? string() : scalar(describe(expect, stack));
    if (problem) return problem;
    expect = afterValue();
  }
}

function describe(expect, stack) {
  const close = stack[stack.length - 1] === '{' ? '}' : ']';
  return {
    value: 'a value',
    valueOrClose: 'a value or "]"',
    key: 'a key (a string in double quotes)',
    keyOrClose: 'a key (a string in double quotes) or "}"',
    colon: '":" after the key',
    commaOrClose: `"," or "${close}"`,
    end: 'nothing more after the value',
  }[expect];
}

/**
 * Where `text` stops being JSON and what was found, for an error message:
 * `at line 1, column 14 (byte 13): found "}" where a value was expected`.
 * Only the one character found is named (printable ASCII quoted, any other
 * by its code point), never more of the text.
 */
export function describeSyntaxError(text) {
  const err = findSyntaxError(text);
  if (!err) return 'not valid JSON';
  const before = text.slice(0, err.offset);
  const line = before.split('\n').length;
  const column = err.offset - before.lastIndexOf('\n');
  const found = err.found === null ? 'the end of the text'
    : /^[\x21-\x7e]$/.test(err.found) ? JSON.stringify(err.found)
      : `U+${err.found.codePointAt(0).toString(16).toUpperCase().padStart(4, '0')}`;
  return `at line ${line}, column ${column} (byte ${Buffer.byteLength(before)}): found ${found} where ${err.expected} was expected`;
}
