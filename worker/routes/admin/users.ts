// Owns Admin -> Users: list, create, details, edit (display name, role, password, disabled, policy
// group binding). Disabling a user or changing their password ends all their sessions and tokens.
import { asc, eq } from "drizzle-orm";
import { notFound } from "../../../shared/errors.ts";
import { hashPassword } from "../../accounts/passwords.ts";
import { revokeUserSessions } from "../../accounts/sessions.ts";
import { assertGroupExists, assertNotLastAdmin, createUser, findUser } from "../../accounts/users.ts";
import { createUserBody, toUserOut, updateUserBody, userListSchema, userSchema } from "../../api/users.ts";
import { idParams } from "../../api/wire.ts";
import { users } from "../../db/schema.ts";
import { defineRoute } from "../../http/route.ts";

export const userRoutes = [
  defineRoute({
    method: "GET",
    path: "/api/v1/admin/users",
    access: "admin",
    summary: "List users",
    tag: "users",
    response: userListSchema,
    handler: async ({ services }) => {
      const rows = await services.db.select().from(users).orderBy(asc(users.username));
      return { users: rows.map(toUserOut) };
    },
  }),
  defineRoute({
    method: "POST",
    path: "/api/v1/admin/users",
    access: "admin",
    summary: "Create a user (bound to the current default policy group unless told otherwise)",
    tag: "users",
    body: createUserBody,
    response: userSchema,
    status: 201,
    handler: async ({ services, body }) => {
      const row = await createUser(
        services.db,
        {
          username: body.username,
          password: body.password,
          displayName: body.display_name,
          role: body.role,
          policyGroupId: body.policy_group_id,
        },
        services.now(),
      );
      return toUserOut(row);
    },
  }),
  defineRoute({
    method: "GET",
    path: "/api/v1/admin/users/:id",
    access: "admin",
    summary: "User details",
    tag: "users",
    params: idParams,
    response: userSchema,
    handler: async ({ services, params }) => {
      const row = await findUser(services.db, params.id);
      if (!row) throw notFound("user");
      return toUserOut(row);
    },
  }),
  defineRoute({
    method: "PATCH",
    path: "/api/v1/admin/users/:id",
    access: "admin",
    summary: "Edit a user: display name, role, password, disabled, policy group",
    tag: "users",
    params: idParams,
    body: updateUserBody,
    response: userSchema,
    handler: async ({ services, params, body }) => {
      const { db } = services;
      const row = await findUser(db, params.id);
      if (!row) throw notFound("user");
      const losesAdmin =
        row.role === "admin" && !row.disabled && (body.role === "user" || body.disabled === true);
      if (losesAdmin) await assertNotLastAdmin(db, row.id);
      if (body.policy_group_id) await assertGroupExists(db, body.policy_group_id);
      const changes: Partial<typeof users.$inferInsert> = { updatedAt: services.now() };
      if (body.display_name !== undefined) changes.displayName = body.display_name;
      if (body.role !== undefined) changes.role = body.role;
      if (body.disabled !== undefined) changes.disabled = body.disabled;
      if (body.policy_group_id !== undefined) changes.policyGroupId = body.policy_group_id;
      if (body.password !== undefined) changes.passwordHash = await hashPassword(body.password);
      await db.update(users).set(changes).where(eq(users.id, row.id));
      if (body.disabled === true || body.password !== undefined) await revokeUserSessions(db, row.id);
      const updated = await findUser(db, row.id);
      if (!updated) throw notFound("user");
      return toUserOut(updated);
    },
  }),
];
