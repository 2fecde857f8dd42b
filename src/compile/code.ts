/**
 * Typed fragments of generated JavaScript (ajv's CodeGen model): the compiler
 * builds source only from `Code`, and a plain string cannot become `Code` except
 * through the four doors below, each of which admits only what is safe:
 *   - `js` template literals, whose fixed text is the compiler's own source and whose
 *     holes take `Code` or safe non-negative integers;
 *   - `name(prefix, n)`: an identifier minted from a fixed prefix and an integer;
 *   - `comment(text)`: a line comment whose text is reduced to a small safe alphabet,
 *     so a hostile node id cannot end the comment or the line;
 *   - `expression(template, operands)`: an op's inline template (ops/types.ts), which
 *     may hold only $-operands, digits, operators and parentheses: no identifier,
 *     string or comment can be written with those.
 * `instantiate` (new-function.ts) accepts only `Code`.
 */

const brand: unique symbol = Symbol('code');

export interface Code {
  readonly [brand]: true;
  readonly text: string;
}

function code(text: string): Code {
  return { [brand]: true, text } as Code;
}

export function isCode(x: unknown): x is Code {
  return typeof x === 'object' && x !== null && (x as Code)[brand] === true;
}

/** A safe non-negative integer; anything else is a bug in the generator. */
function int(n: number): string {
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`codegen: not a safe integer: ${n}`);
  return String(n);
}

/** A fragment from template text and holes of Code or safe integers. */
export function js(strings: TemplateStringsArray, ...holes: (Code | number)[]): Code {
  // Only a real template object has a frozen `raw`: an array passed by hand is refused.
  if (!Object.isFrozen(strings) || !Array.isArray(strings.raw)) throw new Error('codegen: js must be used as a tag');
  let text = strings[0];
  for (let i = 0; i < holes.length; i++) {
    const h = holes[i];
    text += (typeof h === 'number' ? int(h) : isCode(h) ? h.text : fail(h)) + strings[i + 1];
  }
  return code(text);
}

function fail(h: unknown): never {
  throw new Error(`codegen: a hole holds ${typeof h}, not Code or an integer`);
}

/** Identifier prefixes the generator uses (see codegen.ts for what each names). */
export type Prefix = 'a' | 'v' | 'r' | 'f' | 't' | 'u' | 'acc';

export function name(prefix: Prefix, n: number): Code {
  return code(prefix + int(n));
}

const TEMPLATE = /^(?:\$[0-9]|[0-9]|[ .+\-*/%()<>=!?:&|])*$/;

/** An op's inline template with its operands in place of $0, $1, …; each operand is used in parentheses. */
export function expression(template: string, operands: readonly Code[]): Code {
  if (!TEMPLATE.test(template)) throw new Error('codegen: an inline template may hold only operands, digits and operators');
  return code(
    template.replace(/\$([0-9])/g, (_, d: string) => {
      const o = operands[Number(d)];
      if (!isCode(o)) throw new Error(`codegen: the template uses operand ${d}, which is missing`);
      return isAtom(o) ? o.text : `(${o.text})`;
    }),
  );
}

/** Whether a fragment is a name or a number (safe to repeat in an expression without recomputing anything). */
export function isAtom(c: Code): boolean {
  return /^(?:[A-Za-z_][A-Za-z0-9_]*|[0-9]+)$/.test(c.text);
}

/** Fragments joined by a separator fragment. */
export function join(parts: readonly Code[], separator: Code = js`, `): Code {
  return code(parts.map((p) => p.text).join(separator.text));
}

/** Characters a comment keeps; every other becomes `?`. */
const COMMENT_SAFE = /[^A-Za-z0-9_ .,:;=+\-[\]()#×]/g;
const COMMENT_MAX = 120;

/** `// text`, reduced to a safe alphabet (no `*`, `/`, quotes, backslashes or line breaks). */
export function comment(text: string): Code {
  return code(`// ${text.slice(0, COMMENT_MAX).replace(COMMENT_SAFE, '?')}`);
}

/** Lines of code, each indented by `depth` levels, joined by newlines. */
export function lines(items: readonly Code[], depth = 0): Code {
  const pad = '  '.repeat(depth);
  return code(
    items
      .filter((l) => l.text !== '')
      .map((l) => l.text.replace(/^/gm, pad))
      .join('\n'),
  );
}
