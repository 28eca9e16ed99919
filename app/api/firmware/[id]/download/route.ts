// Firmware download for devices: the signed link is the credential
// (server/firmware/download.ts).
import { firmwareDownloadResponse } from "@/server/firmware/download.ts";

export const dynamic = "force-dynamic";
export const runtime = "nodejs";

export async function GET(request: Request, { params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  return firmwareDownloadResponse(id, new URL(request.url).searchParams, Date.now() / 1000);
}
