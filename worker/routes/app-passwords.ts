// Owns /api/v1/auth/app-passwords: the caller's app passwords for WebDAV clients. Created with a
// name and an optional read-only scope (the value is shown once), listed without values, revoked.
import { createAppPassword, listAppPasswords, revokeAppPassword } from "../accounts/app-passwords.ts";
import {
  appPasswordListSchema,
  createAppPasswordBody,
  createdAppPasswordSchema,
  toAppPasswordOut,
} from "../api/app-passwords.ts";
import { idParams } from "../api/wire.ts";
import { defineRoute } from "../http/route.ts";

const tag = "auth";

export const appPasswordRoutes = [
  defineRoute({
    method: "GET",
    path: "/api/v1/auth/app-passwords",
    access: "user",
    summary: "List the caller's app passwords for WebDAV (never their values)",
    tag,
    response: appPasswordListSchema,
    handler: async ({ services, user }) => ({
      app_passwords: (await listAppPasswords(services, user.id)).map(toAppPasswordOut),
    }),
  }),
  defineRoute({
    method: "POST",
    path: "/api/v1/auth/app-passwords",
    access: "user",
    summary: "Create an app password for WebDAV clients (shown once; read_only allows reading only)",
    tag,
    body: createAppPasswordBody,
    response: createdAppPasswordSchema,
    status: 201,
    handler: async ({ services, user, body }) => {
      const { row, password } = await createAppPassword(services, user.id, {
        name: body.name,
        readOnly: body.read_only,
      });
      return { ...toAppPasswordOut(row), password };
    },
  }),
  defineRoute({
    method: "DELETE",
    path: "/api/v1/auth/app-passwords/:id",
    access: "user",
    summary: "Revoke one of the caller's app passwords (clients using it are refused at once)",
    tag,
    params: idParams,
    handler: async ({ services, user, params }) => {
      await revokeAppPassword(services, user.id, params.id);
    },
  }),
];
