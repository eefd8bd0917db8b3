/**
 * Lock levels (a lock hierarchy): this thread's record of the leveled locks it holds. A blocking acquisition of a
 * leveled lock must be at a level strictly above every leveled lock the thread already holds; otherwise it throws
 * `LockOrderError` at once, before anything can deadlock. Locks without a level are not tracked and cost nothing.
 */

import { LockOrderError } from "../errors.js";

const heldIds: number[] = [];
const heldLevels: number[] = [];
const heldNames: string[] = [];

/**
 * Throws `LockOrderError` if taking a lock at `level` would break the hierarchy.
 * @param name the lock about to be taken, for the message
 */
export function checkLevel(name: string, level: number): void {
  for (let i = 0; i < heldLevels.length; i++) {
    if (heldLevels[i]! >= level) {
      throw new LockOrderError(
        `threadsafe: lock-level violation: locking Mutex "${name}" (level ${level}) while holding Mutex ` +
          `"${heldNames[i]}" (level ${heldLevels[i]}). A thread may only lock levels above every level it holds, so ` +
          `that no two threads can ever wait for each other in a cycle. Lock "${name}" first, or give it a level above ${heldLevels[i]}.`,
      );
    }
  }
}

/** Records that this thread took a leveled lock. */
export function onAcquire(lockId: number, level: number, name: string): void {
  heldIds.push(lockId);
  heldLevels.push(level);
  heldNames.push(name);
}

/** Records that this thread released a leveled lock. */
export function onRelease(lockId: number): void {
  const i = heldIds.lastIndexOf(lockId);
  if (i < 0) return;
  heldIds.splice(i, 1);
  heldLevels.splice(i, 1);
  heldNames.splice(i, 1);
}
