// Owns GET /api/v1/admin/files/:id/storage: asks the storage that holds a file whether its object is
// there (a HEAD through the file's own policy driver), to prove where an upload landed.
import { fileStorageSchema, toFileOut } from "../../api/files.ts";
import { idParams } from "../../api/wire.ts";
import { checkStoredObject } from "../../files/object-check.ts";
import { defineRoute } from "../../http/route.ts";

export const fileStorageRoutes = [
  defineRoute({
    method: "GET",
    path: "/api/v1/admin/files/:id/storage",
    access: "admin",
    summary: "Where a file's object lives and whether the storage has it (HEAD through the file's policy)",
    tag: "admin-files",
    params: idParams,
    response: fileStorageSchema,
    handler: async ({ services, params }) => {
      const { file, policy, object: info } = await checkStoredObject(services, params.id);
      return {
        file: {
          ...toFileOut(file),
          space_kind: file.spaceKind,
          space_id: file.spaceId,
          storage_key: file.storageKey,
          location: file.location,
        },
        policy: {
          id: policy.id,
          name: policy.name,
          driver: policy.driver,
          node_id: policy.nodeId,
          key_prefix: policy.keyPrefix,
        },
        object: {
          exists: info !== null,
          size: info?.size ?? null,
          sha256: info?.sha256 ?? null,
          etag: info?.etag ?? null,
        },
        checked_at: services.now().toISOString(),
      };
    },
  }),
];
