// Every environment variable the product reads, in one place. README.md lists
// the same set; keep them in step.
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
  get logLevel() {
    return str("LOG_LEVEL") ?? "info";
  },
};
