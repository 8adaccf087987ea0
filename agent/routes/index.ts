// Owns the agent's route table, grouped by resource: which handler serves which method and path, and
// how each is authenticated (public, signed, or signed-or-presigned).
import { PROTOCOL_ROOT } from "../../shared/protocol/keys.ts";
import type { AgentServices, Scope } from "../context.ts";
import * as control from "./control.ts";
import * as health from "./health.ts";
import * as multipart from "./multipart.ts";
import * as objects from "./objects.ts";
import * as pulls from "./pulls.ts";

export type Handler = (services: AgentServices, scope: Scope) => Promise<Response> | Response;

export interface Route {
  name: string;
  methods: string[];
  pattern: RegExp;
  handler: Handler;
  /** public: no auth; signed: header signature; presignable: header signature or presigned URL. */
  auth: "public" | "signed" | "presignable";
  /** Accepts UNSIGNED-PAYLOAD (the body is streamed and bound by the signed size/sha256 query). */
  streamed?: boolean;
}

const R = PROTOCOL_ROOT.replace(/\//g, "\\/");
export const routes: Route[] = [
  { name: "health", methods: ["GET", "HEAD"], pattern: /^\/health$/, auth: "public", handler: health.health },
  {
    name: "ready",
    methods: ["GET", "HEAD"],
    pattern: /^\/health\/ready$/,
    auth: "public",
    handler: health.ready,
  },
  {
    name: "metrics",
    methods: ["GET"],
    pattern: /^\/metrics$/,
    auth: "public",
    handler: (s, scope) => health.metrics(s, scope.request),
  },
  {
    name: "capabilities",
    methods: ["GET"],
    pattern: new RegExp(`^${R}/capabilities$`),
    auth: "signed",
    handler: control.capabilities,
  },
  {
    name: "binding",
    methods: ["PUT"],
    pattern: new RegExp(`^${R}/binding$`),
    auth: "signed",
    handler: control.pushBinding,
  },
  {
    name: "ingress_list",
    methods: ["GET"],
    pattern: new RegExp(`^${R}/ingress-targets$`),
    auth: "signed",
    handler: control.listTargets,
  },
  {
    name: "ingress_upsert",
    methods: ["PUT"],
    pattern: new RegExp(`^${R}/ingress-targets/(?<key>[^/]+)$`),
    auth: "signed",
    handler: control.upsertTarget,
  },
  {
    name: "ingress_delete",
    methods: ["DELETE"],
    pattern: new RegExp(`^${R}/ingress-targets/(?<key>[^/]+)$`),
    auth: "signed",
    handler: control.deleteTarget,
  },
  {
    name: "object_put",
    methods: ["PUT"],
    pattern: new RegExp(`^${R}/objects/(?<key>.+)$`),
    auth: "presignable",
    streamed: true,
    handler: objects.putObject,
  },
  {
    name: "object_get",
    methods: ["GET", "HEAD"],
    pattern: new RegExp(`^${R}/objects/(?<key>.+)$`),
    auth: "presignable",
    handler: objects.getObject,
  },
  {
    name: "object_delete",
    methods: ["DELETE"],
    pattern: new RegExp(`^${R}/objects/(?<key>.+)$`),
    auth: "signed",
    handler: objects.deleteObject,
  },
  {
    name: "object_copy",
    methods: ["POST"],
    pattern: new RegExp(`^${R}/copy$`),
    auth: "signed",
    handler: objects.copyObject,
  },
  {
    name: "multipart_create",
    methods: ["POST"],
    pattern: new RegExp(`^${R}/multipart$`),
    auth: "signed",
    handler: multipart.createUpload,
  },
  {
    name: "multipart_part",
    methods: ["PUT"],
    pattern: new RegExp(`^${R}/multipart/(?<id>[^/]+)/parts/(?<part>[^/]+)$`),
    auth: "presignable",
    streamed: true,
    handler: multipart.putPart,
  },
  {
    name: "multipart_parts",
    methods: ["GET"],
    pattern: new RegExp(`^${R}/multipart/(?<id>[^/]+)/parts$`),
    auth: "signed",
    handler: multipart.listParts,
  },
  {
    name: "multipart_complete",
    methods: ["POST"],
    pattern: new RegExp(`^${R}/multipart/(?<id>[^/]+)/complete$`),
    auth: "signed",
    handler: multipart.complete,
  },
  {
    name: "multipart_abort",
    methods: ["DELETE"],
    pattern: new RegExp(`^${R}/multipart/(?<id>[^/]+)$`),
    auth: "signed",
    handler: multipart.abort,
  },
  {
    name: "pull_start",
    methods: ["POST"],
    pattern: new RegExp(`^${R}/pulls$`),
    auth: "signed",
    handler: pulls.startPull,
  },
  {
    name: "pull_status",
    methods: ["GET"],
    pattern: new RegExp(`^${R}/pulls/(?<id>[^/]+)$`),
    auth: "signed",
    handler: pulls.pullStatus,
  },
  {
    name: "pull_cancel",
    methods: ["DELETE"],
    pattern: new RegExp(`^${R}/pulls/(?<id>[^/]+)$`),
    auth: "signed",
    handler: pulls.cancelPull,
  },
];
