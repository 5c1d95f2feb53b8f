// The sink's tables (README "Fleets" › "The sink"): one row per event, keyed by (gateway_id, id) — the
// identity a gateway's at-least-once delivery repeats — and the batches that could not be
// read. `table` is checked against ^[a-z_][a-z0-9_]*$ by the config schema, so it is
// spliced into the SQL as is.

export function createTableSql(table: string): string[] {
  return [
    `CREATE TABLE IF NOT EXISTS ${table} (
      gateway_id text NOT NULL,
      id text NOT NULL,
      seq bigint NOT NULL,
      source text NOT NULL,
      type text NOT NULL,
      "timestamp" timestamptz NOT NULL,
      corrected_timestamp timestamptz,
      inserted_at timestamptz NOT NULL DEFAULT now(),
      payload jsonb NOT NULL,
      PRIMARY KEY (gateway_id, id)
    )`,
    `CREATE INDEX IF NOT EXISTS ${table}_gateway_seq ON ${table} (gateway_id, seq)`,
    `CREATE INDEX IF NOT EXISTS ${table}_source_time ON ${table} (source, "timestamp")`,
    `CREATE INDEX IF NOT EXISTS ${table}_type_time ON ${table} (type, "timestamp")`,
    `CREATE INDEX IF NOT EXISTS ${table}_time ON ${table} ("timestamp")`,
    `CREATE TABLE IF NOT EXISTS ${table}_rejected (
      n bigserial PRIMARY KEY,
      received_at timestamptz NOT NULL DEFAULT now(),
      topic text NOT NULL,
      content_type text,
      reason text NOT NULL,
      payload bytea NOT NULL
    )`,
  ];
}

/**
 * One statement for the whole batch, its events bound as a single JSON array ($2) that the
 * server takes apart: bound, never spliced, and no per-event array-literal escaping in the
 * sink (binding eight arrays cost the pg client half the sink's CPU per event; bench:sink).
 * `rowCount` is the rows inserted, so the rest were already there.
 */
export function insertEventsSql(table: string): string {
  return `INSERT INTO ${table} (gateway_id, id, seq, source, type, "timestamp", corrected_timestamp, payload)
    SELECT $1, e->>'id', (e->>'seq')::bigint, e->>'source', e->>'type', (e->>'timestamp')::timestamptz, (e->>'correctedTimestamp')::timestamptz, e
    FROM jsonb_array_elements($2::jsonb) AS e
    ON CONFLICT (gateway_id, id) DO NOTHING`;
}

export function insertRejectedSql(table: string): string {
  return `INSERT INTO ${table}_rejected (topic, content_type, reason, payload) VALUES ($1, $2, $3, $4)`;
}

/** Two copies starting at once must not both create the table: creation runs under this lock. */
export const CREATE_LOCK_SQL = `SELECT pg_advisory_xact_lock(hashtext('edgebus sink: create tables'))`;
