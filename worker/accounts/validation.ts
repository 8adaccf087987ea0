// Owns the account field rules shared by bootstrap, the admin API and login: usernames and passwords.
import { z } from "zod";

export const usernameSchema = z
  .string()
  .trim()
  .min(2)
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, {
    message: "use letters, digits, dot, underscore or hyphen, starting with a letter or digit",
  });

export const passwordSchema = z.string().min(10, { message: "must be at least 10 characters" }).max(1024);

export function normalizeUsername(username: string): string {
  return username.trim().toLowerCase();
}
