/**
 * Every word protocol, loaded for its kind registration (runtime/kinds.ts). A thread that reaps or waits without
 * loading the primitives' typed layers (the supervisor) imports this, so that owner death releases every kind of
 * hold; `sync/primitives.ts` imports it too. A new primitive's protocol is added here, once.
 */

import "./raw-mutex.js";
import "./raw-condvar.js";
import "./raw-semaphore.js";
import "./raw-barrier.js";
import "./raw-rwlock.js";
import "./raw-once.js";
import "./raw-channel.js";
