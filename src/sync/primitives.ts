/**
 * Every primitive, loaded for its registrations (its word protocol's kind, runtime/kinds.ts, and its shareable
 * kind, shareable.ts). A thread entry that revives shared objects without importing the public entry point (the
 * thread `spawn` starts) imports this, so that every kind can arrive there.
 */

import "../raw/protocols.js";
import "./mutex.js";
import "./arc.js";
import "./condvar.js";
import "./semaphore.js";
import "./barrier.js";
import "./rwlock.js";
import "./atomic.js";
import "./atomic-int.js";
import "./once.js";
import "./once-lock.js";
import "./lazy-lock.js";
import "./channel.js";
