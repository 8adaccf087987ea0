// The statement splitter behind SQL_MANY_STATEMENTS and `sequence`: SQLite's sqlite3_complete() rules.
import { describe, expect, it } from "vitest";
import { firstWord, parameterNames, splitStatements } from "../../scripts/libsql-server/sql-text.ts";

describe("splitStatements", () => {
  it("splits on semicolons and drops empty statements and bare comments", () => {
    expect(splitStatements("SELECT 1; SELECT 2;;  ; -- tail")).toEqual(["SELECT 1;", "SELECT 2;"]);
    expect(splitStatements("SELECT 1")).toEqual(["SELECT 1"]);
    expect(splitStatements(" \n-- only a comment\n/* and; another */ ")).toEqual([]);
    expect(splitStatements("")).toEqual([]);
  });

  it("ignores semicolons inside literals, quoted identifiers and comments", () => {
    const sql = `SELECT 'a;''b', "c;""d", \`e;f\`, [g;h] -- i;j\n/* k; */ FROM t; SELECT 2`;
    expect(splitStatements(sql)).toEqual([
      `SELECT 'a;''b', "c;""d", \`e;f\`, [g;h] -- i;j\n/* k; */ FROM t;`,
      "SELECT 2",
    ]);
  });

  it("keeps a trigger body, CASE ... END included, in one statement", () => {
    const trigger =
      "CREATE TEMP TRIGGER tr AFTER INSERT ON t BEGIN UPDATE t SET v = CASE WHEN 1 THEN 'x;' END; DELETE FROM u; END;";
    expect(splitStatements(`${trigger} SELECT 1;`)).toEqual([trigger, "SELECT 1;"]);
    const explained = "EXPLAIN CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; END;";
    expect(splitStatements(`${explained}SELECT 2`)).toEqual([explained, "SELECT 2"]);
  });

  it("does not mistake words that merely contain keywords for them", () => {
    expect(splitStatements("CREATE TABLE triggers (ending); SELECT 1;")).toHaveLength(2);
    expect(splitStatements("SELECT 1 AS created; SELECT 2 AS trigger_end;")).toHaveLength(2);
  });

  it("treats an unterminated literal or comment as running to the end", () => {
    expect(splitStatements("SELECT 'open; SELECT 2")).toEqual(["SELECT 'open; SELECT 2"]);
    expect(splitStatements("SELECT 1 /* open; SELECT 2")).toEqual(["SELECT 1 /* open; SELECT 2"]);
  });
});

describe("parameterNames and firstWord", () => {
  it("lists parameters in order, named ones once, outside literals and comments", () => {
    expect(parameterNames("SELECT ?, :a, @b, $c, ?3, :a, '?:x' -- :y")).toEqual([
      null,
      ":a",
      "@b",
      "$c",
      "?3",
    ]);
  });

  it("finds the first word after leading comments", () => {
    expect(firstWord("/* c */ -- d\n explain query plan SELECT 1")).toBe("EXPLAIN");
    expect(firstWord(" pragma foreign_keys = off")).toBe("PRAGMA");
    expect(firstWord("'pragma'")).toBe("");
    expect(firstWord("  ")).toBe("");
  });
});
