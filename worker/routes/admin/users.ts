// Owns Admin -> Users: list, create, details, edit (display name, role, password, disabled, policy
// group binding). Disabling a user or changing their password ends all their sessions and tokens.
import { notFound } from "../../../shared/errors.ts";
import { createUser, findUser, listUsers, updateUser } from "../../accounts/users.ts";
import { createUserBody, toUserOut, updateUserBody, userListSchema, userSchema } from "../../api/users.ts";
import { idParams } from "../../api/wire.ts";
import { defineRoute } from "../../http/route.ts";

export const userRoutes = [
  defineRoute({
    method: "GET",
    path: "/api/v1/admin/users",
    access: "admin",
    summary: "List users",
    tag: "users",
    response: userListSchema,
    handler: async ({ services }) => ({ users: (await listUsers(services.db)).map(toUserOut) }),
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
      const row = await findUser(services.db, params.id);
      if (!row) throw notFound("user");
      const input = {
        displayName: body.display_name,
        role: body.role,
        disabled: body.disabled,
        password: body.password,
        policyGroupId: body.policy_group_id,
      };
      return toUserOut(await updateUser(services.db, row, input, services.now()));
    },
  }),
];
