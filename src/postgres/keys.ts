/** How this library's locks appear among PostgreSQL's advisory locks. */

/**
 * The first key word of every advisory lock this library takes (`pg_locks.classid`; the lock's row id is
 * `objid`): "tsaf", so the library's locks are told apart from any other advisory lock in the database.
 */
export const KEY_SPACE = 0x74736166;

/** The advisory lock key (a bigint, as SQL text) of the lock whose row id is `id`. */
export function keyOf(id: number): string {
  return (BigInt(KEY_SPACE) * 2n ** 32n + BigInt(id)).toString();
}
