// Owns turning a route's zod 4 schemas into fast-check arbitraries: the schema goes through
// z.toJSONSchema (input side), and the JSON Schema is walked into values that mostly satisfy it,
// mixed at every level with hostile ones (huge strings, unicode, `..`, NUL, wrong types, missing
// and extra fields). Ids the campaign has seen in answers are offered where a schema wants an id, so
// requests reach past 404 into the handlers.
import fc from "fast-check";
import { z } from "zod";

type JsonSchema = {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  minItems?: number;
  maxItems?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  format?: string;
  enum?: unknown[];
  const?: unknown;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  default?: unknown;
};

/** What the campaign has seen in answers, offered where an id or token is asked for. */
export interface Pools {
  ids: string[];
  tokens: string[];
}

const HOSTILE_STRINGS = [
  "",
  "..",
  "../../etc/passwd",
  "..%2f..%2fetc%2fpasswd",
  "a\u0000b",
  "\u0000",
  "%00",
  "<script>alert(1)</script>",
  "' OR 1=1 --",
  "\uFFFF\uFFFE",
  "\uD800",
  "𝕏".repeat(300),
  "é".normalize("NFD").repeat(50),
  " ",
  "\r\n\t",
  "null",
  "-1",
  "9".repeat(400),
  "/",
  "\\",
  "CON",
];

const hugeString = fc.integer({ min: 70_000, max: 200_000 }).map((n) => "x".repeat(n));

/** A value of any JSON type, including ones no schema asks for. */
export const hostile: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...HOSTILE_STRINGS) },
  { weight: 1, arbitrary: hugeString },
  { weight: 2, arbitrary: fc.string({ unit: "grapheme", maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 40 }) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      0,
      -1,
      1.5,
      2 ** 53,
      -(2 ** 63),
      1e308,
      Number.MAX_SAFE_INTEGER + 2,
      null,
      true,
      false,
      {},
      [],
    ),
  },
  { weight: 1, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.double({ noNaN: true }) },
  { weight: 1, arbitrary: fc.array(fc.string({ maxLength: 5 }), { maxLength: 5 }) },
  { weight: 1, arbitrary: fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 })) },
  {
    weight: 1,
    arbitrary: fc.integer({ min: 50, max: 2000 }).map((depth) => {
      let value: unknown = 1;
      for (let i = 0; i < depth; i++) value = [value];
      return value;
    }),
  },
);

const HOSTILE_WEIGHT = 1;
const VALID_WEIGHT = 7;

function mixed(valid: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> {
  return fc.oneof({ weight: VALID_WEIGHT, arbitrary: valid }, { weight: HOSTILE_WEIGHT, arbitrary: hostile });
}

function stringOf(schema: JsonSchema, key: string | undefined, pools: Pools): fc.Arbitrary<unknown> {
  if (schema.pattern) {
    return fc.stringMatching(new RegExp(schema.pattern)).filter((s) => s.length <= (schema.maxLength ?? 1e6));
  }
  if (schema.format === "date-time") {
    return fc
      .date({ min: new Date("2000-01-01"), max: new Date("2100-01-01"), noInvalidDate: true })
      .map((d) => d.toISOString());
  }
  if (schema.format === "email") return fc.emailAddress();
  if (schema.format === "uri" || schema.format === "url") return fc.webUrl();
  if (key === "space") {
    // A space is "me" or a team's id.
    return fc.oneof(
      { weight: 4, arbitrary: fc.constant("me") },
      { weight: 2, arbitrary: pools.ids.length > 0 ? fc.constantFrom(...pools.ids) : fc.constant("me") },
      { weight: 1, arbitrary: fc.string({ minLength: 1, maxLength: 64 }) },
    );
  }
  const min = schema.minLength ?? 0;
  const max = Math.max(min, Math.min(schema.maxLength ?? 64, 300));
  const plain = fc.string({ minLength: min, maxLength: max });
  const idLike = key !== undefined && (key === "id" || key.endsWith("_id") || key === "targetId");
  const tokenLike = key === "token";
  const pool = idLike ? pools.ids : tokenLike ? pools.tokens : [];
  const fromPool = pool.filter((s) => s.length >= min && s.length <= (schema.maxLength ?? Infinity));
  if (fromPool.length === 0) return plain;
  return fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...fromPool) }, { weight: 1, arbitrary: plain });
}

function numberOf(schema: JsonSchema, integer: boolean): fc.Arbitrary<unknown> {
  const low =
    schema.minimum ?? (schema.exclusiveMinimum === undefined ? undefined : schema.exclusiveMinimum + 1);
  const high =
    schema.maximum ?? (schema.exclusiveMaximum === undefined ? undefined : schema.exclusiveMaximum - 1);
  const min = Math.max(low ?? -1e6, -Number.MAX_SAFE_INTEGER);
  const max = Math.min(high ?? 1e9, Number.MAX_SAFE_INTEGER);
  // Small values are where the handlers' branches are (part numbers, priorities, sizes, limits).
  const small = fc.integer({ min: Math.max(min, -2), max: Math.min(max, Math.max(Math.max(min, -2), 100)) });
  const wide = integer ? fc.integer({ min, max }) : fc.double({ min, max, noNaN: true });
  return fc.oneof({ weight: 3, arbitrary: small }, { weight: 1, arbitrary: wide });
}

/** The arbitrary of one JSON Schema node (key: the property it is the value of, for id pools). */
function walk(schema: JsonSchema, pools: Pools, key?: string, depth = 0): fc.Arbitrary<unknown> {
  if (depth > 8) return fc.constant(null);
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (schema.enum) return fc.constantFrom(...schema.enum);
  const choices = schema.anyOf ?? schema.oneOf;
  if (choices && choices.length > 0) return fc.oneof(...choices.map((s) => walk(s, pools, key, depth + 1)));
  if (schema.allOf && schema.allOf.length > 0) return walk(schema.allOf[0]!, pools, key, depth + 1);
  const type = Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : [];
  if (type.length > 1) {
    return fc.oneof(...type.map((t) => walk({ ...schema, type: t }, pools, key, depth + 1)));
  }
  switch (type[0]) {
    case "string":
      return stringOf(schema, key, pools);
    case "integer":
      return numberOf(schema, true);
    case "number":
      return numberOf(schema, false);
    case "boolean":
      return fc.boolean();
    case "null":
      return fc.constant(null);
    case "array": {
      const item = schema.items ? mixed(walk(schema.items, pools, key, depth + 1)) : hostile;
      const minLength = schema.minItems ?? 0;
      return fc.array(item, { minLength, maxLength: Math.max(minLength, Math.min(schema.maxItems ?? 5, 5)) });
    }
    case "object":
      return objectOf(schema, pools, depth);
    default:
      return hostile;
  }
}

function objectOf(schema: JsonSchema, pools: Pools, depth: number): fc.Arbitrary<unknown> {
  const properties = Object.entries(schema.properties ?? {});
  const required = new Set(schema.required ?? []);
  const fields = properties.map(([name, property]) => {
    const value = mixed(walk(property, pools, name, depth + 1));
    // A required field is sometimes missing, an optional one present about half the time.
    const presence = required.has(name) ? fc.integer({ min: 0, max: 19 }).map((n) => n > 0) : fc.boolean();
    return fc.tuple(fc.constant(name), presence, value);
  });
  const extra = fc.option(fc.tuple(fc.constantFrom("__proto__", "constructor", "extra", "id"), hostile), {
    freq: 10,
  });
  return fc.tuple(fc.tuple(...fields), extra).map(([entries, more]) => {
    const out: Record<string, unknown> = {};
    for (const [name, present, value] of entries) if (present) out[name] = value;
    if (more) Object.defineProperty(out, more[0], { value: more[1], enumerable: true, writable: true });
    return out;
  });
}

export function jsonSchemaOf(schema: z.ZodType): JsonSchema {
  return z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as JsonSchema;
}

/** Values for `schema`, mostly valid, sometimes hostile at any depth (and sometimes hostile whole). */
export function arbitraryOf(schema: z.ZodType, pools: Pools): fc.Arbitrary<unknown> {
  return mixed(walk(jsonSchemaOf(schema), pools));
}

/** Path or query values: an object's fields as strings (what a URL can carry). */
export function stringFieldsOf(
  schema: z.ZodType | undefined,
  pools: Pools,
  names: string[],
): fc.Arbitrary<Record<string, string>> {
  const json: JsonSchema = schema ? jsonSchemaOf(schema) : { type: "object" };
  const properties = json.properties ?? {};
  const all = [...new Set([...names, ...Object.keys(properties)])];
  const required = new Set([...names, ...(json.required ?? [])]);
  const fields = all.map((name) => {
    const property = properties[name] ?? { type: "string", minLength: 1, maxLength: 64 };
    const value = mixed(walk(property, pools, name)).map(asText);
    const presence = required.has(name) ? fc.constant(true) : fc.boolean();
    return fc.tuple(fc.constant(name), presence, value);
  });
  return fc.tuple(...fields).map((entries) => {
    const out: Record<string, string> = {};
    for (const [name, present, value] of entries) if (present) out[name] = value;
    return out;
  });
}

function asText(value: unknown): string {
  if (typeof value === "string") return value;
  if (value === undefined) return "";
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}
