import { z } from "zod";
import { ROLES } from "./permissions.ts";

export const signInSchema = z.object({
  email: z.string().trim().email().max(254),
  password: z.string().min(1).max(200),
});

export const roleSchema = z.enum(ROLES);
