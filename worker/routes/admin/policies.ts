// Admin -> Storage Policies: list, create, details, edit, delete and the connection test. What a
// policy may be and when it may go is the domain's (worker/policies/).
import {
  createPolicyBody,
  editPolicyBody,
  policyListSchema,
  policySchema,
  policyTestSchema,
  toPolicyOut,
} from "../../api/policies.ts";
import { idParams } from "../../api/wire.ts";
import { defineRoute } from "../../http/route.ts";
import { testPolicy } from "../../policies/connection-test.ts";
import {
  createPolicy,
  deletePolicy,
  listPolicies,
  loadPolicy,
  updatePolicy,
} from "../../policies/records.ts";

const TAG = "storage-policies";

export const policyRoutes = [
  defineRoute({
    method: "GET",
    path: "/api/v1/admin/policies",
    access: "admin",
    summary: "List storage policies",
    tag: TAG,
    response: policyListSchema,
    handler: async ({ services }) => ({ policies: (await listPolicies(services)).map(toPolicyOut) }),
  }),

  defineRoute({
    method: "POST",
    path: "/api/v1/admin/policies",
    access: "admin",
    summary: "Create a storage policy (remote: the follower must be tested and compatible)",
    tag: TAG,
    body: createPolicyBody,
    response: policySchema,
    status: 201,
    handler: async ({ services, body }) => toPolicyOut(await createPolicy(services, body)),
  }),

  defineRoute({
    method: "GET",
    path: "/api/v1/admin/policies/:id",
    access: "admin",
    summary: "Storage policy details",
    tag: TAG,
    params: idParams,
    response: policySchema,
    handler: async ({ services, params }) => toPolicyOut(await loadPolicy(services, params.id)),
  }),

  defineRoute({
    method: "PATCH",
    path: "/api/v1/admin/policies/:id",
    access: "admin",
    summary: "Edit a storage policy (driver and follower node are fixed)",
    tag: TAG,
    params: idParams,
    body: editPolicyBody,
    response: policySchema,
    handler: async ({ services, params, body }) =>
      toPolicyOut(await updatePolicy(services, await loadPolicy(services, params.id), body)),
  }),

  defineRoute({
    method: "DELETE",
    path: "/api/v1/admin/policies/:id",
    access: "admin",
    summary: "Delete a storage policy (refused while a policy group rule or a file uses it)",
    tag: TAG,
    params: idParams,
    handler: async ({ services, params }) => {
      await deletePolicy(services, await loadPolicy(services, params.id));
    },
  }),

  defineRoute({
    method: "POST",
    path: "/api/v1/admin/policies/:id/test",
    access: "admin",
    summary: "Policy connection test: write, read back and delete a probe object through the real driver",
    tag: TAG,
    params: idParams,
    response: policyTestSchema,
    handler: async ({ services, params }) => testPolicy(services, await loadPolicy(services, params.id)),
  }),
];
