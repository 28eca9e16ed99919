import { randomBytes } from "node:crypto";

/**
 * A short token no other test (or earlier run against the same database) will
 * produce: tests scope their data with it so that they can run in parallel.
 * Lower-case letters and digits only, so it fits device ids, types and emails.
 */
export function uniqueToken(): string {
  return `${Date.now().toString(36).slice(-4)}${randomBytes(4).toString("hex")}`;
}
