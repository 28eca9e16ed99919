// The custom server (server/web.ts) stamps each request with the socket's
// address in this header, replacing anything a client sent. Behind a trusted
// proxy (TRUST_PROXY=1) the first X-Forwarded-For entry is used instead.
export const CLIENT_IP_HEADER = "x-fleetwave-client-ip";

type HeaderBag = Headers | Record<string, unknown> | undefined;

function read(headers: HeaderBag, name: string): string | undefined {
  if (!headers) return undefined;
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  const value = headers[name];
  return Array.isArray(value) ? String(value[0]) : typeof value === "string" ? value : undefined;
}

export function clientIpFromHeaders(headers: HeaderBag): string | null {
  if (process.env.TRUST_PROXY === "1") {
    const forwarded = read(headers, "x-forwarded-for")?.split(",")[0]?.trim();
    if (forwarded) return forwarded;
  }
  return read(headers, CLIENT_IP_HEADER) ?? null;
}
