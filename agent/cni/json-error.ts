// Where a JSON text goes wrong, in words a person can act on. JSON.parse's own
// messages change between V8 versions and do not always give a position, so
// the collector finds the first error itself. Iterative (an explicit stack of
// open containers), so a megabyte of "[" cannot overflow the call stack.

export interface JsonError {
  /** Offset in the decoded text (UTF-16 code units), as JSON.parse counts. */
  readonly position: number;
  readonly line: number;
  readonly column: number;
  readonly reason: string;
}

type State = 'value' | 'firstElement' | 'element' | 'firstKey' | 'key' | 'after';

/** The first syntax error of `text`, or undefined when it is valid JSON. */
export function locateJsonError(text: string): JsonError | undefined {
  let pos = 0;
  const stack: ('{' | '[')[] = [];
  let state: State = 'value';

  const fail = (reason: string): JsonError => {
    let line = 1;
    let lineStart = 0;
    for (let i = 0; i < pos && i < text.length; i++) {
      if (text.charCodeAt(i) === 10) {
        line++;
        lineStart = i + 1;
      }
    }
    return { position: pos, line, column: pos - lineStart + 1, reason };
  };
  const skipSpace = (): void => {
    while (pos < text.length) {
      const c = text.charCodeAt(pos);
      if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) break;
      pos++;
    }
  };
  const describe = (c: string): string => {
    const code = c.charCodeAt(0);
    return code < 0x20 || code === 0x7f ? `control character U+${code.toString(16).padStart(4, '0').toUpperCase()}` : `character ${JSON.stringify(c)}`;
  };
  /** At a '"': moves past the string, or tells what is wrong in it. */
  const scanString = (): JsonError | undefined => {
    pos++;
    for (;;) {
      if (pos >= text.length) return fail('unterminated string');
      const c = text[pos]!;
      const code = c.charCodeAt(0);
      if (c === '"') {
        pos++;
        return undefined;
      }
      if (code < 0x20) return fail(`${describe(c)} inside a string (must be escaped)`);
      if (c === '\\') {
        const e = text[pos + 1];
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(pos + 2, pos + 6))) return fail('bad \\u escape (needs four hex digits)');
          pos += 6;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) {
          pos += 2;
        } else {
          return fail(`bad escape ${JSON.stringify(`\\${e ?? ''}`)}`);
        }
        continue;
      }
      pos++;
    }
  };
  const scanNumber = (): JsonError | undefined => {
    const m = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/.exec(text.slice(pos, pos + 512));
    if (!m || m[0] === '-' || m[0] === '') return fail('bad number');
    pos += m[0].length;
    const next = text[pos];
    if (next !== undefined && /[0-9.eE+-]/.test(next)) return fail('bad number');
    return undefined;
  };

  for (;;) {
    skipSpace();
    const c = text[pos];
    switch (state) {
      case 'firstElement':
        if (c === ']') {
          pos++;
          stack.pop();
          state = 'after';
          break;
        }
        state = 'value';
        break;
      case 'element':
        if (c === ']') return fail("trailing comma before ']'");
        state = 'value';
        break;
      case 'value': {
        if (c === undefined) return fail('unexpected end of input');
        if (c === '{') {
          pos++;
          stack.push('{');
          state = 'firstKey';
        } else if (c === '[') {
          pos++;
          stack.push('[');
          state = 'firstElement';
        } else if (c === '"') {
          const e = scanString();
          if (e) return e;
          state = 'after';
        } else if (c === '-' || (c >= '0' && c <= '9')) {
          const e = scanNumber();
          if (e) return e;
          state = 'after';
        } else {
          const word = ['true', 'false', 'null'].find((w) => text.startsWith(w, pos));
          if (word === undefined) return fail(`unexpected ${describe(c)}`);
          pos += word.length;
          state = 'after';
        }
        break;
      }
      case 'firstKey':
      case 'key': {
        if (c === '}') {
          if (state === 'key') return fail("trailing comma before '}'");
          pos++;
          stack.pop();
          state = 'after';
          break;
        }
        if (c === undefined) return fail('unexpected end of input');
        if (c !== '"') return fail('expected a property name in double quotes');
        const e = scanString();
        if (e) return e;
        skipSpace();
        if (text[pos] !== ':') return fail(text[pos] === undefined ? 'unexpected end of input' : "expected ':' after a property name");
        pos++;
        state = 'value';
        break;
      }
      case 'after': {
        const top = stack[stack.length - 1];
        if (top === undefined) return c === undefined ? undefined : fail('unexpected data after the JSON value');
        if (c === undefined) return fail('unexpected end of input');
        if (c === ',') {
          pos++;
          state = top === '{' ? 'key' : 'element';
        } else if ((top === '{' && c === '}') || (top === '[' && c === ']')) {
          pos++;
          stack.pop();
        } else {
          return fail(top === '{' ? "expected ',' or '}' after a property value" : "expected ',' or ']' after an array element");
        }
        break;
      }
    }
  }
}
