// Owns the wire of Hrana-over-HTTP v2 (`POST /v2/pipeline`, JSON): zod schemas of what clients send,
// and the types of what this server answers. Field names are the protocol's own (snake_case).
import { z } from "zod";

// Optional fields may arrive absent or as JSON null, depending on the client.
const optional = <T extends z.ZodType>(schema: T) =>
  schema.nullish().transform((value) => value ?? undefined);

const sqlId = z
  .number()
  .int()
  .min(0)
  .max(2 ** 31 - 1);

export const wireValueSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("null") }),
  z.object({ type: z.literal("integer"), value: z.union([z.string(), z.number().int()]) }),
  z.object({ type: z.literal("float"), value: z.number() }),
  z.object({ type: z.literal("text"), value: z.string() }),
  z.object({ type: z.literal("blob"), base64: z.string() }),
]);
export type WireValue = z.infer<typeof wireValueSchema>;

export const stmtSchema = z.object({
  sql: optional(z.string()),
  sql_id: optional(sqlId),
  args: optional(z.array(wireValueSchema)),
  named_args: optional(z.array(z.object({ name: z.string(), value: wireValueSchema }))),
  want_rows: optional(z.boolean()),
});
export type Stmt = z.infer<typeof stmtSchema>;

// Conditions nest, so their type is written out once for the recursive schema.
export type BatchCond =
  | { type: "ok"; step: number }
  | { type: "error"; step: number }
  | { type: "not"; cond: BatchCond }
  | { type: "and"; conds: BatchCond[] }
  | { type: "or"; conds: BatchCond[] }
  | { type: "is_autocommit" };

const stepIndex = z.number().int().min(0);
export const batchCondSchema: z.ZodType<BatchCond> = z.lazy(() =>
  z.discriminatedUnion("type", [
    z.object({ type: z.literal("ok"), step: stepIndex }),
    z.object({ type: z.literal("error"), step: stepIndex }),
    z.object({ type: z.literal("not"), cond: batchCondSchema }),
    z.object({ type: z.literal("and"), conds: z.array(batchCondSchema) }),
    z.object({ type: z.literal("or"), conds: z.array(batchCondSchema) }),
    z.object({ type: z.literal("is_autocommit") }),
  ]),
);

export const batchSchema = z.object({
  steps: z.array(z.object({ condition: optional(batchCondSchema), stmt: stmtSchema })),
});
export type Batch = z.infer<typeof batchSchema>;

const sqlSource = { sql: optional(z.string()), sql_id: optional(sqlId) };

export const streamRequestSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("close") }),
  z.object({ type: z.literal("execute"), stmt: stmtSchema }),
  z.object({ type: z.literal("batch"), batch: batchSchema }),
  z.object({ type: z.literal("sequence"), ...sqlSource }),
  z.object({ type: z.literal("describe"), ...sqlSource }),
  z.object({ type: z.literal("store_sql"), sql_id: sqlId, sql: z.string() }),
  z.object({ type: z.literal("close_sql"), sql_id: sqlId }),
  z.object({ type: z.literal("get_autocommit") }),
]);
export type StreamRequest = z.infer<typeof streamRequestSchema>;

export const pipelineRequestSchema = z.object({
  baton: optional(z.string()),
  requests: z.array(streamRequestSchema),
});

export interface WireError {
  message: string;
  code: string;
}

export interface Col {
  name: string | null;
  decltype: string | null;
}

export interface StmtResult {
  cols: Col[];
  rows: WireValue[][];
  affected_row_count: number;
  last_insert_rowid: string | null;
  /** Hrana 3 fields; v2 clients ignore them. See execute.ts for what they count here. */
  rows_read: number;
  rows_written: number;
}

export interface BatchResult {
  step_results: (StmtResult | null)[];
  step_errors: (WireError | null)[];
}

export interface DescribeResult {
  params: { name: string | null }[];
  cols: { name: string; decltype: string | null }[];
  is_explain: boolean;
  is_readonly: boolean;
}

export type StreamResponse =
  | { type: "close" | "sequence" | "store_sql" | "close_sql" }
  | { type: "execute"; result: StmtResult }
  | { type: "batch"; result: BatchResult }
  | { type: "describe"; result: DescribeResult }
  | { type: "get_autocommit"; is_autocommit: boolean };

export type StreamResult = { type: "ok"; response: StreamResponse } | { type: "error"; error: WireError };

export interface PipelineResponse {
  baton: string | null;
  base_url: string | null;
  results: StreamResult[];
}
