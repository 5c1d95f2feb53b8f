// The sink's own /metrics (README "Fleets" › "The sink"), in a registry of its own.
import { Counter, Gauge, Registry } from 'prom-client';

export class SinkMetrics {
  readonly registry = new Registry();
  readonly batches = new Counter({ name: 'edgebus_sink_batches_total', help: 'batches taken, by outcome: written (committed) or rejected (undecodable, recorded as a dead letter)', labelNames: ['outcome'] as const, registers: [this.registry] });
  readonly inserted = new Counter({ name: 'edgebus_sink_events_inserted_total', help: 'events inserted', registers: [this.registry] });
  readonly duplicates = new Counter({ name: 'edgebus_sink_events_duplicate_total', help: 'events already in the table (a redelivery), skipped', registers: [this.registry] });
  readonly writeErrors = new Counter({ name: 'edgebus_sink_write_errors_total', help: 'failed PostgreSQL transactions (each retried)', registers: [this.registry] });
  readonly connected = new Gauge({ name: 'edgebus_sink_broker_connected', help: '1 while connected to the broker', registers: [this.registry] });
  readonly postgresUp = new Gauge({ name: 'edgebus_sink_postgres_up', help: '1 when the last PostgreSQL transaction succeeded', registers: [this.registry] });
}
