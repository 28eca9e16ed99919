// Desired-state changes made by the platform (an engineer, the rollout
// controller). Each bumps the shadow version by one, like a device's accepted
// update, and queues the shadow/delta in the same transaction (mqtt_outbox),
// so a committed change is always announced and an aborted one never is.
import type pg from "pg";
import { deviceTopic } from "@/server/mqtt/topics.ts";
import { loadShadows } from "./data.ts";
import type { JsonObject } from "./document-rules.ts";
import { applyDesiredChange, deltaMessage } from "./rules.ts";

export type DesiredChange = { deviceId: string; patch: JsonObject };

/** Applies the changes inside the caller's transaction; returns the new version per device. */
export async function applyDesiredChanges(client: pg.PoolClient, changes: DesiredChange[], now = Date.now() / 1000): Promise<Map<string, number>> {
  const versions = new Map<string, number>();
  if (changes.length === 0) return versions;
  const ids = [...new Set(changes.map((c) => c.deviceId))];
  // Row locks: a concurrent ingest write waits, then fails its version guard and re-reads.
  await client.query(`SELECT 1 FROM device_shadows WHERE device_id = ANY($1::text[]) ORDER BY device_id FOR UPDATE`, [ids]);
  const stored = await loadShadows(client, ids, { replayKeys: false });
  const updates: Array<{ id: string; version: number; desired: string; metadata: string; changes: string; delta: string; topic: string }> = [];
  const states = new Map([...stored].map(([id, s]) => [id, s.state]));
  for (const change of changes) {
    const state = states.get(change.deviceId);
    if (!state) throw new Error(`device ${change.deviceId} is not registered`);
    states.set(change.deviceId, applyDesiredChange(state, change.patch, now));
  }
  for (const id of ids) {
    const next = states.get(id)!;
    versions.set(id, next.version);
    updates.push({
      id,
      version: next.version,
      desired: JSON.stringify(next.desired),
      metadata: JSON.stringify(next.metadata),
      changes: JSON.stringify(next.changes),
      delta: JSON.stringify(deltaMessage(next, now)),
      topic: deviceTopic(id, "shadow/delta"),
    });
  }
  // One jsonb parameter for the whole set: escaping text[] parameters costs more than the write.
  const rowsParam = JSON.stringify(updates);
  await client.query(
    `UPDATE device_shadows AS s SET version = u.version, desired = u.desired::jsonb, metadata = u.metadata::json,
            changes = u.changes::json, updated_at = now()
       FROM jsonb_to_recordset($1::jsonb) AS u(id text, version int, desired text, metadata text, changes text)
      WHERE s.device_id = u.id`,
    [rowsParam],
  );
  await client.query(
    `INSERT INTO mqtt_outbox (device_id, topic, payload)
     SELECT u.id, u.topic, u.delta::jsonb FROM jsonb_to_recordset($1::jsonb) AS u(id text, topic text, delta text)`,
    [rowsParam],
  );
  return versions;
}
