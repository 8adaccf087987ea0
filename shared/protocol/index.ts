// The public surface of protocol v2: schemas and types, key rules, signing, presigning and the client.
export * from "./client.ts";
export * from "./keys.ts";
export * from "./presign.ts";
export * from "./schemas.ts";
export * from "./signing.ts";
