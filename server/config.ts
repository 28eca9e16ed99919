// Every environment variable the product reads, in one place. README.md lists
// the same set; keep them in step.
import { createHmac } from "node:crypto";
import path from "node:path";

function int(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value)) throw new Error(`${name} must be a number, got "${raw}"`);
  return value;
}

function str(name: string): string | undefined {
  const raw = process.env[name];
  return raw === undefined || raw === "" ? undefined : raw;
}

export const config = {
  get databaseUrl() {
    return str("DATABASE_URL");
  },
  get mqttUrl() {
    return str("MQTT_URL");
  },
  get mqttUsername() {
    return str("MQTT_USERNAME") ?? "fleetwave-platform";
  },
  get mqttPassword() {
    return str("MQTT_PASSWORD");
  },
  /** 5 for brokers that honour Receive Maximum (Mosquitto, EMQX); 4 for MQTT 3.1.1-only brokers (the embedded aedes). */
  get mqttProtocolVersion(): 4 | 5 {
    return int("MQTT_PROTOCOL_VERSION", 5) === 4 ? 4 : 5;
  },
  /** Stable per worker, so a restarted worker resumes its broker session and gets its unacknowledged messages back. */
  get workerId() {
    return str("WORKER_ID");
  },
  /** How long the broker keeps a stopped worker's session (and its unacknowledged messages) for its return. */
  get ingestSessionExpirySec() {
    return int("INGEST_SESSION_EXPIRY_SEC", 86_400);
  },
  /** Set on workers that stop for good (scale-in): they leave the shared subscription before stopping. */
  get ingestLeaveOnStop() {
    return str("INGEST_LEAVE_ON_STOP") === "1";
  },
  get ingestReceiveMaximum() {
    return int("INGEST_RECEIVE_MAXIMUM", 4000);
  },
  get syncRatePerSec() {
    return int("SYNC_RATE_PER_SEC", 2000);
  },
  get topicPrefix() {
    return str("MQTT_TOPIC_PREFIX") ?? "fleet";
  },
  get port() {
    return int("PORT", 3000);
  },
  get host() {
    return str("HOST") ?? "0.0.0.0";
  },
  get dataDir() {
    return path.resolve(/*turbopackIgnore: true*/ str("FLEETWAVE_DATA_DIR") ?? ".data");
  },
  get authSecret() {
    return str("AUTH_SECRET") ?? str("NEXTAUTH_SECRET");
  },
  /** Base URL devices use to reach the web process; signed firmware links start with it. */
  get publicUrl() {
    return (str("PUBLIC_URL") ?? `http://127.0.0.1:${this.port}`).replace(/\/+$/, "");
  },
  /** Where uploaded firmware images are kept, by their SHA-256. Web and worker processes must see the same folder. */
  get firmwareDir() {
    return path.resolve(/*turbopackIgnore: true*/ str("FIRMWARE_DIR") ?? path.join(this.dataDir, "firmware"));
  },
  get firmwareMaxMb() {
    return int("FIRMWARE_MAX_MB", 256);
  },
  /** Comma-separated `keyId=BASE64` Ed25519 public keys (raw 32 bytes or SPKI DER); parsed by server/firmware/signature.ts. */
  get firmwareSigningKeys() {
    return str("FIRMWARE_SIGNING_KEYS");
  },
  get firmwareRequireSignature() {
    return str("FIRMWARE_REQUIRE_SIGNATURE") === "1";
  },
  /**
   * HMAC secret of firmware download links. Derived from the session secret
   * when unset, so every web node and worker that shares AUTH_SECRET agrees
   * without another secret to distribute.
   */
  get firmwareLinkSecret(): string {
    const explicit = str("FIRMWARE_LINK_SECRET");
    if (explicit) return explicit;
    const auth = this.authSecret;
    if (!auth) throw new Error("FIRMWARE_LINK_SECRET is not set and there is no AUTH_SECRET to derive it from: set one of them");
    return createHmac("sha256", auth).update("firmware-links").digest("base64url");
  },
  get sessionIdleMinutes() {
    return int("SESSION_IDLE_MINUTES", 8 * 60);
  },
  get sessionMaxHours() {
    return int("SESSION_MAX_HOURS", 24);
  },
  get loginMaxFailuresPerAccount() {
    return int("LOGIN_MAX_FAILURES_PER_ACCOUNT", 5);
  },
  get loginMaxFailuresPerIp() {
    return int("LOGIN_MAX_FAILURES_PER_IP", 30);
  },
  get loginWindowMinutes() {
    return int("LOGIN_WINDOW_MINUTES", 15);
  },
  get oidc() {
    const issuer = str("OIDC_ISSUER");
    const clientId = str("OIDC_CLIENT_ID");
    const clientSecret = str("OIDC_CLIENT_SECRET");
    if (!issuer || !clientId || !clientSecret) return null;
    return {
      issuer,
      clientId,
      clientSecret,
      name: str("OIDC_NAME") ?? "Single sign-on",
      defaultRole: (str("OIDC_DEFAULT_ROLE") ?? "operator") as "manager" | "operator" | "engineer" | "admin",
    };
  },
  /** Rollouts planned for more devices than this need another engineer's approval before they start. */
  get rolloutApprovalOverDevices() {
    return int("ROLLOUT_APPROVAL_OVER_DEVICES", 1000);
  },
  /** How often the rollout controller reads device reports and decides (ms). */
  get rolloutPassMs() {
    return int("ROLLOUT_PASS_MS", 1000);
  },
  /** Set to 0 to run a worker without the rollout controller (it then never takes the leader lock). */
  get rolloutController() {
    return str("ROLLOUT_CONTROLLER") !== "0";
  },
  get logLevel() {
    return str("LOG_LEVEL") ?? "info";
  },
};
