// The baselines of bench/postgres.mjs: a counter increment written by hand in SQL on one connection, as someone
// without the library would write it (take the advisory lock, read the row, write it in a transaction, release).

/** Creates the baseline's table and row `key` (value 0). */
export async function prepareHand(client, key) {
  await client.query("CREATE TABLE IF NOT EXISTS bench_counters (id integer PRIMARY KEY, value integer NOT NULL)");
  await client.query("INSERT INTO bench_counters (id, value) VALUES ($1, 0) ON CONFLICT (id) DO UPDATE SET value = 0", [key]);
}

/** One increment, one statement per round trip: lock, read, write (its own transaction), unlock. */
export async function handIncrement(client, key) {
  await client.query("SELECT pg_advisory_lock($1)", [key]);
  const { rows } = await client.query("SELECT value FROM bench_counters WHERE id = $1", [key]);
  await client.query("UPDATE bench_counters SET value = $2 WHERE id = $1", [key, rows[0].value + 1]);
  await client.query("SELECT pg_advisory_unlock($1)", [key]);
}

/**
 * The same increment in two round trips, as a careful hand would batch it (what the library does): lock and read in
 * one batch (the read is its own statement, so it sees the previous holder's commit), write and unlock in another.
 */
export async function handIncrementBatched(client, key) {
  const [, read] = await client.query(`SELECT pg_advisory_lock(${key}); SELECT value FROM bench_counters WHERE id = ${key}`);
  await client.query(`BEGIN; UPDATE bench_counters SET value = ${read.rows[0].value + 1} WHERE id = ${key}; COMMIT; SELECT pg_advisory_unlock(${key})`);
}

/** The counter's value. */
export async function handValue(client, key) {
  const { rows } = await client.query("SELECT value FROM bench_counters WHERE id = $1", [key]);
  return rows[0].value;
}
