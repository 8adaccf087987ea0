// Owns splitting SQL text into statements. The engine binding prepares only the first statement of a
// string and silently ignores the rest, so `execute` must know whether more follow (sqld refuses them)
// and `sequence` runs each one itself. The splitter is SQLite's own sqlite3_complete() state machine:
// a semicolon ends a statement, except inside CREATE TRIGGER ... BEGIN ... END.

type Token = "semi" | "ws" | "other" | "explain" | "create" | "temp" | "trigger" | "end" | "param";

// A parameter is an ordinary token to the state machine (column 2, "other").
const columns: Token[] = ["semi", "ws", "other", "explain", "create", "temp", "trigger", "end", "param"];
// States: 0 invalid, 1 start, 2 normal, 3 explain, 4 create, 5 trigger, 6 semi, 7 end.
const transitions = [
  [1, 0, 2, 3, 4, 2, 2, 2, 2],
  [1, 1, 2, 3, 4, 2, 2, 2, 2],
  [1, 2, 2, 2, 2, 2, 2, 2, 2],
  [1, 3, 3, 2, 4, 2, 2, 2, 3],
  [1, 4, 2, 2, 2, 4, 5, 2, 2],
  [6, 5, 5, 5, 5, 5, 5, 5, 5],
  [6, 6, 5, 5, 5, 5, 5, 7, 5],
  [1, 7, 5, 5, 5, 5, 5, 5, 5],
];

const keywords: Record<string, Token> = {
  EXPLAIN: "explain",
  CREATE: "create",
  TEMP: "temp",
  TEMPORARY: "temp",
  TRIGGER: "trigger",
  END: "end",
};

const wordChar = /[A-Za-z0-9_$\u0080-\uffff]/;

/** Reads one token at `at`; returns its kind and the index just past it. */
function readToken(sql: string, at: number): [Token, number] {
  const char = sql[at]!;
  if (char === ";") return ["semi", at + 1];
  if (/\s/.test(char)) return ["ws", at + 1];
  if (char === "-" && sql[at + 1] === "-") {
    const newline = sql.indexOf("\n", at);
    return ["ws", newline === -1 ? sql.length : newline + 1];
  }
  if (char === "/" && sql[at + 1] === "*") {
    const close = sql.indexOf("*/", at + 2);
    return ["ws", close === -1 ? sql.length : close + 2];
  }
  if (char === "'" || char === '"' || char === "`" || char === "[") {
    const closer = char === "[" ? "]" : char;
    let end = at + 1;
    for (;;) {
      const found = sql.indexOf(closer, end);
      if (found === -1) return ["other", sql.length];
      // A doubled quote is an escaped quote inside the literal; brackets have no escape.
      if (closer !== "]" && sql[found + 1] === closer) end = found + 2;
      else return ["other", found + 1];
    }
  }
  if ("?:@$".includes(char)) {
    let end = at + 1;
    const allowed = char === "?" ? /[0-9]/ : /[A-Za-z0-9_$\u0080-\uffff]/;
    while (end < sql.length && allowed.test(sql[end]!)) end++;
    return [char === "?" || end > at + 1 ? "param" : "other", end];
  }
  if (wordChar.test(char)) {
    let end = at + 1;
    while (end < sql.length && wordChar.test(sql[end]!)) end++;
    return [keywords[sql.slice(at, end).toUpperCase()] ?? "other", end];
  }
  return ["other", at + 1];
}

/** The statements of `sql`, each with its terminating semicolon; empty statements are dropped. */
export function splitStatements(sql: string): string[] {
  const statements: string[] = [];
  let state = 1;
  let start = 0;
  let hasContent = false;
  let at = 0;
  while (at < sql.length) {
    const [token, next] = readToken(sql, at);
    state = transitions[state]![columns.indexOf(token)]!;
    if (token !== "ws" && token !== "semi") hasContent = true;
    at = next;
    if (token === "semi" && state === 1) {
      if (hasContent) statements.push(sql.slice(start, at).trim());
      start = at;
      hasContent = false;
    }
  }
  if (hasContent) statements.push(sql.slice(start).trim());
  return statements;
}

/** Reads the tokens of `sql` (one statement), skipping whitespace and comments. */
function* tokens(sql: string): Generator<[Token, string]> {
  for (let at = 0; at < sql.length; ) {
    const [token, next] = readToken(sql, at);
    if (token !== "ws") yield [token, sql.slice(at, next)];
    at = next;
  }
}

/** The first word of a statement, upper-cased ("" if it starts otherwise). */
export function firstWord(sql: string): string {
  for (const [token, text] of tokens(sql))
    return token === "param" || !/^\w/.test(text) ? "" : text.toUpperCase();
  return "";
}

/** Parameter names in order of first use; a bare `?` has no name. */
export function parameterNames(sql: string): (string | null)[] {
  const names: (string | null)[] = [];
  for (const [token, text] of tokens(sql)) {
    if (token !== "param") continue;
    if (text === "?") names.push(null);
    else if (!names.includes(text)) names.push(text);
  }
  return names;
}
