/**
 * SQL as it may be exported in a span: every literal replaced by `?`, the statement's shape left readable.
 *
 * MikroORM inlines parameter values into the statement text it hands to pg (no separate `values`), so
 * `db.query.text` would otherwise carry names, addresses and phone numbers. Quoted identifiers, keywords,
 * casts and `$1` placeholders are kept; string literals (standard, `E'…'`, dollar-quoted) and numbers go. An
 * unterminated literal (a truncated statement) is masked up to the end.
 */
const SQL_TOKEN = new RegExp(
  [
    String.raw`("(?:[^"]|"")*"?)`, // 1: quoted identifier: kept
    String.raw`([eE]'(?:[^'\\]|''|\\[\s\S])*(?:'|$))`, // 2: escape string
    String.raw`('(?:[^']|'')*(?:'|$))`, // 3: standard string (backslashes are literal)
    String.raw`(\$([A-Za-z_]\w*)?\$[\s\S]*?(?:\$\5\$|$))`, // 4 (its tag: 5): dollar-quoted string
    String.raw`(\$\d+)`, // 6: positional parameter: kept
    String.raw`([A-Za-z_][\w$]*)`, // 7: identifier or keyword, digits in it kept
    String.raw`(\d+(?:\.\d+)?(?:[eE][-+]?\d+)?|\.\d+)`, // 8: number
  ].join('|'),
  'g',
);

export function maskSqlLiterals(sql: string): string {
  return sql.replace(
    SQL_TOKEN,
    (token: string, identifier?: string, _e?: string, _s?: string, _d?: string, _t?: string, parameter?: string, word?: string) =>
      identifier !== undefined || parameter !== undefined || word !== undefined ? token : '?',
  );
}
