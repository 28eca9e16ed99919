import { z } from "zod";
import { roleSchema } from "@/server/auth/schema.ts";

export const userRowSchema = z.object({
  id: z.string(),
  email: z.string(),
  name: z.string(),
  role: roleSchema,
  disabled: z.boolean(),
  hasPassword: z.boolean(),
  lastLoginAt: z.date().nullable(),
  createdAt: z.date(),
});

export const createUserInput = z.object({
  email: z.string().trim().toLowerCase().email("Enter a valid email address.").max(254),
  name: z.string().trim().min(1, "Enter a name.").max(120),
  role: roleSchema,
  password: z.string().min(12, "Use at least 12 characters.").max(200),
});

export const userIdInput = z.object({ userId: z.string().uuid() });
export const setRoleInput = userIdInput.extend({ role: roleSchema });
export const setDisabledInput = userIdInput.extend({ disabled: z.boolean() });
