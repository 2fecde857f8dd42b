/** The doors into generated source admit only what they promise. */
import { describe, expect, test } from 'vitest';
import { comment, expression, isCode, js, name } from './code.js';
import { instantiate } from './new-function.js';

describe('Code fragments', () => {
  test('a js template takes fragments and safe integers only', () => {
    expect(js`a[${3}] = ${name('v', 4)};`.text).toBe('a[3] = v4;');
    expect(() => js`${'evil' as never}`).toThrow(/not Code or an integer/);
    expect(() => js`${-1}`).toThrow(/safe integer/);
    expect(() => js`${1.5}`).toThrow(/safe integer/);
    // an array posing as a template object is refused
    const fake = Object.assign(['x = ', ''], { raw: ['x = ', ''] });
    expect(() => js(fake as unknown as TemplateStringsArray, 1)).toThrow(/tag/);
  });

  test('a comment cannot end itself or its line', () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a node id that would run code if it reached a template
    for (const evil of ['*/ process.exit(1) /*', 'a\nb', 'a\rb', 'a\u2028b', 'a\u2029b', "'); throw 1; ('", '`${x}`']) {
      const c = comment(evil).text;
      expect(c.startsWith('// ')).toBe(true);
      expect(c).not.toMatch(/[\n\r\u2028\u2029'"`\\$]|\*\//u);
      expect(c.slice(3)).not.toContain('/');
    }
  });

  test('an inline template may hold only operands, digits and operators', () => {
    expect(expression('($0 === 0 || $1 === 0 ? 0 : $0 * $1)', [name('v', 1), name('v', 2)]).text).toBe(
      '(v1 === 0 || v2 === 0 ? 0 : v1 * v2)',
    );
    expect(expression('-$0', [js`a[i]`]).text).toBe('-(a[i])');
    for (const bad of ['Math.exp($0)', '$0 + "x"', "$0 + 'x'", '$0; process.exit(1)', '`$0`', '$0 // c', '[$0]', '$0 + x']) {
      expect(() => expression(bad, [name('v', 1)]), bad).toThrow(/only operands/);
    }
    expect(() => expression('$0 + $1', [name('v', 1)])).toThrow(/operand 1/);
  });

  test('instantiate accepts Code, never a string', () => {
    expect(isCode(js`return 1;`)).toBe(true);
    expect(instantiate<number>([], js`return 1 + 2;`, [])).toBe(3);
    expect(() => instantiate([], 'return 1;' as never, [])).toThrow(/must be Code/);
    expect(() => instantiate(['x' as never], js`return x;`, [1])).toThrow(/must be Code/);
  });
});
