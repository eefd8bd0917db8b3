/**
 * Someone must always be awake to notice a death. A thread blocked in `lock()` cannot run its event loop, so it
 * cannot hear that the worker holding its lock died; if that waiter is the one that started the worker, nobody
 * would. So every thread the library starts gets a *lifeline*: one end of a MessageChannel that it keeps, the other
 * end held by a small supervisor thread that never blocks. When a thread ends in any way (`terminate()`,
 * `process.exit`, a crash), its end closes, the supervisor hears `'close'` and reaps the thread: its locks are
 * poisoned and released and their waiters wake.
 *
 * The supervisor is unref'd (it never keeps a program alive) and shared: every spawned thread gets a port to its
 * parent's supervisor and uses it for its own spawns, so a spawned thread never starts one, and a supervisor never
 * lives inside a spawned thread (whose end would take it along). It is started by the first thread of a spawn tree
 * that was not itself spawned: the main thread, or a worker you created yourself that calls `spawn`. A worker
 * runs inside the thread that started it and cannot outlive it, so the main thread's supervisor lasts the whole
 * program. Known limit: a worker you created yourself that spawns holds its own supervisor; if that worker is
 * terminated, exits or crashes while threads it spawned still run, they end with it and nobody reaps them (their
 * locks stay held). Join what such a worker spawns before it ends.
 */

import { onPortMessage, portCloseFires, setPortKeepsAlive, startWorker, threadFileUrl } from "../platform/index.js";
import type { Runtime } from "../runtime/runtime.js";

/** Messages the supervisor accepts. */
export type SupervisorRequest =
  | { readonly kind: "watch"; readonly threadId: number; readonly lifeline: MessagePort }
  | { readonly kind: "client"; readonly port: MessagePort };

let supervisor: MessagePort | undefined;

/** Uses the supervisor port a spawned thread received from its parent. */
export function adoptSupervisor(port: MessagePort | undefined): void {
  if (!port) return;
  supervisor = port;
  setPortKeepsAlive(port, false);
}

function supervisorPort(rt: Runtime): MessagePort {
  if (supervisor) return supervisor;
  const { port1, port2 } = new MessageChannel();
  const worker = startWorker(threadFileUrl("supervisor.js", () => new URL("./supervisor.js", import.meta.url)), { runtime: rt.buffer, port: port2 }, [port2], "threadsafe-supervisor");
  worker.setKeepsAlive(false);
  setPortKeepsAlive(port1, false);
  supervisor = port1;
  return port1;
}

/**
 * Makes the lifeline of a thread about to start as `threadId`, and a port to the supervisor for its own spawns.
 * Returns the ends the new thread keeps, or undefined where MessagePort `close` never fires (Deno, browsers): a
 * supervisor could not hear a death there, so none is started. There a terminated thread reaps itself
 * (runtime/termination.ts), one that ends in any other way runs its own exit hook, and an ending thread asks its
 * children to end (thread/worker.ts).
 */
export function makeLifeline(rt: Runtime, threadId: number): { lifeline: MessagePort; supervisor: MessagePort } | undefined {
  if (!portCloseFires) return undefined;
  const port = supervisorPort(rt);
  const life = new MessageChannel();
  const client = new MessageChannel();
  const requests: SupervisorRequest[] = [
    { kind: "watch", threadId, lifeline: life.port1 },
    { kind: "client", port: client.port1 },
  ];
  port.postMessage(requests[0], [life.port1]);
  port.postMessage(requests[1], [client.port1]);
  return { lifeline: life.port2, supervisor: client.port2 };
}

/** Keeps this thread's own lifeline end open (without keeping the thread alive) until the thread ends. */
const heldLifelines: MessagePort[] = [];
export function holdLifeline(port: MessagePort | undefined): void {
  if (!port) return;
  heldLifelines.push(port);
  setPortKeepsAlive(port, false);
}

/** For the supervisor: serves requests arriving on `port`. */
export function serveSupervisor(port: MessagePort, watch: (threadId: number, lifeline: MessagePort) => void): void {
  onPortMessage(port, (message) => {
    const request = message as SupervisorRequest;
    if (request?.kind === "watch") watch(request.threadId, request.lifeline);
    else if (request?.kind === "client") serveSupervisor(request.port, watch);
  });
}
