// Download links handed to devices: absolute, signed for one firmware and one
// device, valid for an hour (rules.ts). The rollout controller puts them in
// `desired.firmware.url`.
import { config } from "@/server/config.ts";
import { downloadPath, signDownload } from "./rules.ts";

export function firmwareDownloadUrl(firmwareId: string, deviceId: string, nowSec: number): string {
  return `${config.publicUrl}${downloadPath(signDownload(config.firmwareLinkSecret, firmwareId, deviceId, nowSec))}`;
}
