// Owns the selects the primary runs on most requests, built once per isolate instead of once per use.
// drizzle builds a select's SQL text and walks its columns every time it runs, and decodes every row
// by asking each field what it is: a fifth of the primary's CPU in small requests. These statements
// differ from one use to the next only in their values, so the text, the order of the parameters and
// each column's decoder are taken from drizzle once (public API: QueryBuilder, toSQL, placeholders)
// and each use only fills in the values. What runs is drizzle's own raw statement (`db.values`), so it
// goes into `db.batch` with the rest of a request's statements.
import { Column, getTableColumns, is, Placeholder, SQL, sql, Table } from "drizzle-orm";
import { QueryBuilder, type SelectedFields, type SQLiteSelectBuilder } from "drizzle-orm/sqlite-core";
import type { Db } from "./client.ts";

interface Decoder {
  mapFromDriverValue(value: unknown): unknown;
}

interface Plan {
  /** The statement's text split at its parameters, as a template's strings. */
  parts: TemplateStringsArray;
  /** Per parameter: the placeholder's name, or the fixed value the builder bound (a LIMIT, say). */
  params: ({ name: string } | { value: unknown })[];
  /** Per selected column, in order: where it goes in the row object and how it is decoded. */
  fields: { path: string[]; decoder: Decoder }[];
}

/** A built select with its typed rows (drizzle's own `_`.result), before it is planned. */
interface Built<TRow> {
  toSQL(): { sql: string; params: unknown[] };
  _: { result: TRow[] };
}

export interface PreparedSelect<TRow, TName extends string> {
  /**
   * The statement for `values` (one per placeholder, as the driver takes them: strings and numbers,
   * not Dates), to await or to send in `db.batch`; what it yields goes through `rows`.
   */
  statement(db: Db, values: Record<TName, string | number>): ReturnType<Db["values"]>;
  /** The rows `statement` yielded, decoded as drizzle's select would have given them. */
  rows(raw: unknown): TRow[];
}

const asGiven: Decoder = { mapFromDriverValue: (value) => value };

/**
 * The selected columns in the order drizzle writes them into the statement (the fields' own order, a
 * table's columns in its declaration order), each with where it goes in the row and its decoder.
 * An sql`` field comes back as the driver gives it (its mapWith, if any, is not applied).
 */
function columnsOf(fields: Record<string, unknown>, prefix: string[] = []): Plan["fields"] {
  return Object.entries(fields).flatMap(([name, field]) => {
    const path = [...prefix, name];
    if (is(field, Column)) return [{ path, decoder: field }];
    if (is(field, SQL)) return [{ path, decoder: asGiven }];
    if (is(field, Table)) return columnsOf(getTableColumns(field), path);
    if (field && typeof field === "object" && !(field instanceof SQL.Aliased)) {
      return columnsOf(field as Record<string, unknown>, path);
    }
    throw new Error("A prepared select takes columns, tables and sql`` fields only.");
  });
}

function plan(fields: SelectedFields, built: Built<unknown>): Plan {
  const { sql: text, params } = built.toSQL();
  const parts = text.split("?");
  if (parts.length !== params.length + 1) {
    throw new Error("A prepared select's text must have one ? per parameter (no ? inside its literals).");
  }
  const strings = Object.assign([...parts], { raw: [...parts] }) as unknown as TemplateStringsArray;
  return {
    parts: strings,
    params: params.map((param) => (is(param, Placeholder) ? { name: param.name } : { value: param })),
    fields: columnsOf(fields),
  };
}

/**
 * A select over `fields`, built by `build` from `select(fields)` with `sql.placeholder(name)` where
 * each use's values go. Inner joins only: a left join's all-null table would come back as an object
 * of nulls, not null as drizzle makes it.
 */
export function preparedSelect<TFields extends SelectedFields, TRow, TName extends string>(
  fields: TFields,
  build: (select: SQLiteSelectBuilder<TFields, "sync", void, "qb">) => Built<TRow>,
  names: readonly TName[],
): PreparedSelect<TRow, TName> {
  let planned: Plan | null = null;
  const planOnce = () => {
    if (planned) return planned;
    const made = plan(fields, build(new QueryBuilder().select(fields)) as Built<unknown>);
    const used = new Set(made.params.flatMap((param) => ("name" in param ? [param.name] : [])));
    if (used.size !== names.length || !names.every((name) => used.has(name))) {
      throw new Error(
        `A prepared select's placeholders (${[...used]}) must be the names it declares (${names}).`,
      );
    }
    planned = made;
    return planned;
  };
  const decode = (raw: unknown): TRow[] => {
    const { fields: columns } = planOnce();
    return (raw as ArrayLike<unknown>[]).map((row) => {
      const result: Record<string, unknown> = {};
      for (let index = 0; index < columns.length; index++) {
        const { path, decoder } = columns[index]!;
        let node = result;
        for (let depth = 0; depth < path.length - 1; depth++) {
          const key = path[depth]!;
          node[key] ??= {};
          node = node[key] as Record<string, unknown>;
        }
        const value = row[index];
        node[path[path.length - 1]!] = value === null ? null : decoder.mapFromDriverValue(value);
      }
      return result as TRow;
    });
  };
  const statement = (db: Db, values: Record<TName, string | number>) => {
    const { parts, params } = planOnce();
    const args = params.map((param) => {
      if (!("name" in param)) return param.value;
      const value = values[param.name as TName];
      if (value === undefined) throw new Error(`No value for the placeholder ${param.name}.`);
      return value;
    });
    return db.values(sql(parts, ...args));
  };
  return { statement, rows: decode };
}
