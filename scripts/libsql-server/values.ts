// Owns the value codec between the wire and the engine: integers travel as decimal strings (64-bit
// exact), floats as JSON numbers, blobs as base64. The engine runs with safe integers on, so an
// INTEGER always comes back as a bigint and a REAL as a number, which keeps the two apart.
import { SqlError } from "./sql-errors.ts";
import type { WireValue } from "./wire.ts";

export type EngineValue = null | bigint | number | string | Uint8Array;

const minInteger = -(2n ** 63n);
const maxInteger = 2n ** 63n - 1n;
const decimal = /^-?\d{1,20}$/;
const base64 = /^[A-Za-z0-9+/]*={0,2}$/;

function decodeInteger(value: string | number): bigint {
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value)) throw new SqlError("ARGS_INVALID", "An integer argument is not exact.");
    return BigInt(value);
  }
  if (!decimal.test(value))
    throw new SqlError("ARGS_INVALID", "An integer argument is not a decimal number.");
  const integer = BigInt(value);
  if (integer < minInteger || integer > maxInteger) {
    throw new SqlError("ARGS_INVALID", "An integer argument does not fit in 64 bits.");
  }
  return integer;
}

export function decodeValue(value: WireValue): EngineValue {
  switch (value.type) {
    case "null":
      return null;
    case "integer":
      return decodeInteger(value.value);
    case "float":
      return value.value;
    case "text":
      return value.value;
    case "blob":
      if (!base64.test(value.base64)) throw new SqlError("ARGS_INVALID", "A blob argument is not base64.");
      return Buffer.from(value.base64, "base64");
  }
}

export function encodeValue(value: unknown): WireValue {
  if (value === null || value === undefined) return { type: "null" };
  if (typeof value === "bigint") return { type: "integer", value: value.toString() };
  if (typeof value === "number") {
    // JSON has no infinities; SQLite yields them only from overflowing literals such as 1e999.
    if (!Number.isFinite(value)) throw new SqlError("SQL_INPUT_ERROR", "A REAL result is not finite.");
    return { type: "float", value };
  }
  if (typeof value === "string") return { type: "text", value };
  if (value instanceof Uint8Array) {
    return {
      type: "blob",
      base64: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("base64"),
    };
  }
  throw new SqlError("SQL_INPUT_ERROR", `The engine returned a value of type ${typeof value}.`);
}
