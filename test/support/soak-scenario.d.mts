// Types for soak-scenario.mjs (plain JavaScript, shared with scripts/soak.mjs).
export interface SoakOptions {
  durationMs?: number;
  workers?: number;
  mutexes?: number;
  terminateEveryMs?: [number, number];
  spinUs?: number;
  throwRate?: number;
  seed?: number;
  stallMs?: number;
  aimAtCriticalSections?: number;
  minTerminations?: number;
  log?: (line: string) => void;
}

export interface SoakResult {
  ok: boolean;
  failures: string[];
  seed: number;
  runMs: number;
  workers: number;
  mutexes: number;
  threadsSpawned: number;
  operations: { lock: number; tryLock: number; timedLock: number; lockAsync: number; with: number; nested: number };
  operationsTotal: number;
  committedUpdates: number;
  reportedUpdates: number;
  committedNotReported: number;
  tryLockMisses: number;
  timeouts: number;
  withThrows: number;
  terminations: number;
  terminatedWhileHolding: number;
  poisonRecovered: {
    rolledBackAfterTermination: number;
    rolledBackAfterThrow: number;
    cleanAfterTermination: number;
    cleanOther: number;
    atTheEnd: number;
    rolledBackAtTheEnd: number;
  };
  poisonAttribution: { namedTheHalfDoneThread: number; namedAnother: number };
  violations: number;
  finals: { mutex: number; count: number; sum: number }[];
  survivors: { name: string; operations: number; committed: number }[];
}

export function runSoak(options?: SoakOptions): Promise<SoakResult>;
export function formatSoak(result: SoakResult): string;
