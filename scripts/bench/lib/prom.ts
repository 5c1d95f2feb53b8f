// Reads the two counters the batching figure needs from edgebus' /metrics.

export interface StoreCounters {
  /** LevelDB batch writes (group commits). */
  writes: number;
  /** Events appended, all types. */
  events: number;
}

export async function scrapeStoreCounters(url: string): Promise<StoreCounters> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  const text = await res.text();
  let writes = Number.NaN;
  let events = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('edgebus_store_writes_total ')) writes = Number(line.slice(line.lastIndexOf(' ') + 1));
    else if (line.startsWith('edgebus_events_ingested_total{')) events += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  if (Number.isNaN(writes)) throw new Error(`${url}: no edgebus_store_writes_total`);
  return { writes, events };
}
