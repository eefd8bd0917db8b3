// Types of embedded-postgres.mjs.
export interface TestServer {
  readonly connectionString: string;
  readonly port: number;
  /** Stops the server (even half-started) and removes its data folder. */
  stop(): Promise<void>;
}
/** A port nothing listens on right now on 127.0.0.1. */
export function freePort(): Promise<number>;
/** Why the embedded server binaries cannot run on this machine, or undefined when they can. */
export function cannotRun(): Promise<string | undefined>;
/** Starts a throwaway server; `settings` are extra `-c name=value` server settings. */
export function startServer(settings?: Record<string, string>): Promise<TestServer>;
