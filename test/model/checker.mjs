// The scheduler: explores the interleavings of one scenario depth-first with a preemption bound (CHESS), running
// the simulated threads (worker.mjs) one shared-memory operation at a time. Stateless search: every interleaving
// is run from the initial memory again, replaying the choices of the one before up to the point where it branches.
import { Worker } from "node:worker_threads";
import * as C from "./control.mjs";

const WORKER_URL = new URL("./worker.mjs", import.meta.url);
const STEP_LIMIT = 20_000;
const WORKER_TIMEOUT_MS = 30_000;
// Spins before each futex sleep of the hand-off (MODEL_SPIN). 0 by default: measured on the project's busy 2-core
// machine, spinning made a run 2-6 times slower (the spinner takes the core the other side needs).
const SPIN = Number(process.env.MODEL_SPIN ?? 0);

class ModelError extends Error {}

/** Starts the simulated threads of `scenario`; resolves when every one has joined the runtime. */
async function startWorkers(lib, scenario, bundle) {
  const model = lib.createModel(scenario);
  const control = new SharedArrayBuffer(C.CONTROL_BYTES);
  const scenarioBuffer = new SharedArrayBuffer(scenario.scenarioBytes ?? 64);
  scenario.scenarioInit?.(scenarioBuffer);
  // Each interleaving starts from it (zeroes, or what scenarioInit wrote: a channel's ring header).
  const scenarioSnapshot = new Uint8Array(scenarioBuffer).slice();
  const workers = scenario.threads.map(
    (_, t) =>
      new Worker(WORKER_URL, {
        workerData: {
          control,
          rtBuffer: model.rtBuffer,
          scenarioBuffer,
          slot: t,
          coldBits: model.cold,
          bundle,
          scenarioName: scenario.name,
          threadId: model.ids[t],
          data: model.data,
          tick: scenario.tick === true,
          extras: model.extras,
        },
        execArgv: ["--enable-source-maps"],
      }),
  );
  const c = new Int32Array(control);
  await Promise.all(
    workers.map(
      (worker, t) =>
        new Promise((resolve, reject) => {
          worker.on("error", reject);
          const poll = () => (Atomics.load(c, C.threadBlock(t) + C.C_STATUS) === C.S_READY ? resolve() : setTimeout(poll, 5));
          poll();
        }),
    ),
  );
  // The initial memory: after every thread joined (joining records its platform id).
  const snapshot = new Uint8Array(model.rtBuffer).slice();
  // The extra buffers (a channel's ring) are untracked but not constant: each interleaving starts from their setup.
  const extrasSnapshot = model.extras.map((buffer) => new Uint8Array(buffer).slice());
  return { model, control, scenarioBuffer, scenarioSnapshot, workers, snapshot, extrasSnapshot };
}

function waitWhile(c, index, value) {
  const deadline = Date.now() + WORKER_TIMEOUT_MS;
  let status;
  for (let spin = 0; spin < SPIN && (status = Atomics.load(c, index)) === value; spin++);
  while ((status = Atomics.load(c, index)) === value) {
    if (Date.now() > deadline) throw new ModelError(`model: a simulated thread did not answer within ${WORKER_TIMEOUT_MS} ms`);
    Atomics.wait(c, index, value, 1000);
  }
  return status;
}

/**
 * One interleaving. `prefix` lists the choice to make at each choice point (an index into its alternatives);
 * past the prefix the default (index 0) is taken. Returns the choice points met, the trace, and the verdict.
 */
function runOnce(ctx, prefix, verbose) {
  const { scenario, model, control, snapshot, lib } = ctx;
  const c = new Int32Array(control);
  const cw = new BigInt64Array(control);
  const cf = new Float64Array(control);
  const bytes = new Uint8Array(control);
  const mem32 = new Int32Array(model.rtBuffer);
  const mem64 = new BigInt64Array(model.rtBuffer, 0, Math.floor(model.rtBuffer.byteLength / 8));
  const scen32 = new Int32Array(ctx.scenarioBuffer);
  const scen64 = new BigInt64Array(ctx.scenarioBuffer);
  new Uint8Array(model.rtBuffer).set(snapshot);
  model.extras.forEach((buffer, i) => new Uint8Array(buffer).set(ctx.extrasSnapshot[i]));
  new Uint8Array(ctx.scenarioBuffer).set(ctx.scenarioSnapshot);
  let time = 1000;
  cf[C.G_TIME_F64] = time;
  Atomics.store(c, C.G_VERBOSE, verbose ? 1 : 0);
  const n = scenario.threads.length;
  const decoder = new TextDecoder();
  const text = (t, offset, lenIndex) => decoder.decode(bytes.slice(C.textOffset(t) + offset, C.textOffset(t) + offset + c[C.threadBlock(t) + lenIndex]));

  // Scheduler's view of each thread.
  const threads = scenario.threads.map((spec, t) => ({
    t,
    spec,
    state: "pending", // pending | blocked | done | dead
    op: undefined, // the operation posted and not yet granted
    prev: undefined, // { op, buf, index, changes } of the last operation performed
    block: undefined, // { buf, index, expected, deadline, hold, seq }
    wakeResult: undefined,
    started: spec.reaperOf === undefined,
    outcome: undefined,
    lastTicket: 0,
    ticketsAtDone: undefined,
  }));
  const trace = [];
  const choices = [];
  let changes = 0; // memory changes so far (spin detection)
  let blockSeq = 0;
  let timeouts = 0;
  let current = -1;
  let preemptions = 0;
  let violation;

  const readPosted = (t) => {
    const B = C.threadBlock(t);
    const B8 = B / 2;
    return {
      op: c[B + C.C_OP],
      buf: c[B + C.C_BUF],
      index: c[B + C.C_INDEX],
      wide: c[B + C.C_WIDE] === 1,
      a: cw[B8 + C.C_ARG1_I64],
      b: cw[B8 + C.C_ARG2_I64],
      timeout: cf[B8 + C.C_TIMEOUT_F64],
      where: verbose ? text(t, C.OUTCOME_BYTES, C.C_WHERE_LEN) : undefined,
      freeLoads: c[B + C.C_FREE_LOADS],
    };
  };
  // After a grant (or a start): wait until thread t posts its next operation or finishes.
  const collect = (t) => {
    const B = C.threadBlock(t);
    const status = waitWhile(c, B + C.C_STATUS, Atomics.load(c, B + C.C_STATUS) === C.S_START ? C.S_START : C.S_GRANT);
    const th = threads[t];
    time = cf[C.G_TIME_F64];
    if (status === C.S_DONE) {
      th.state = th.state === "dead" ? "dead" : "done";
      th.outcome = th.state === "dead" ? "died" : text(t, 0, C.C_OUTCOME_LEN);
      th.op = undefined;
      th.ticketsAtDone = threads.map((x) => x.lastTicket);
      trace.push({ thread: t, kind: "done", result: th.outcome, freeLoads: c[B + C.C_FREE_LOADS] });
      return;
    }
    time = cf[C.G_TIME_F64]; // a ticking clock moved on
    if (status !== C.S_REQUEST) throw new ModelError(`model: unexpected status ${status} from thread ${t}`);
    th.op = readPosted(t);
  };
  const start = (t) => {
    const B = C.threadBlock(t);
    c[B + C.C_BODY] = t;
    Atomics.store(c, B + C.C_STATUS, C.S_START);
    Atomics.notify(c, B + C.C_STATUS);
    collect(t);
  };
  const abort = (t) => {
    const B = C.threadBlock(t);
    if (Atomics.load(c, B + C.C_STATUS) !== C.S_REQUEST) return;
    Atomics.store(c, B + C.C_STATUS, C.S_ABORT);
    Atomics.notify(c, B + C.C_STATUS);
    waitWhile(c, B + C.C_STATUS, C.S_ABORT);
    const status = Atomics.load(c, B + C.C_STATUS);
    if (status !== C.S_DONE) throw new ModelError(`model: thread ${t} did not end when aborted (status ${status})`);
  };
  const grant = (t, mode, waitResult) => {
    const B = C.threadBlock(t);
    c[B + C.C_MODE] = mode;
    if (waitResult !== undefined) c[B + C.C_WAIT_RESULT] = waitResult;
    cf[C.G_TIME_F64] = time;
    Atomics.store(c, B + C.C_STATUS, C.S_GRANT);
    Atomics.notify(c, B + C.C_STATUS);
    collect(t);
  };
  const label = (buf, index, wide) => {
    if (buf === 1) return index === 0 ? "holdWord" : `scenario[${index}]`;
    const word = wide ? index * 2 : index;
    return model.labels[word] ?? `word[${word}]`;
  };

  // Performs thread t's posted operation on the real memory, as one atomic step.
  const perform = (t) => {
    const th = threads[t];
    const o = th.op;
    const B8 = C.threadBlock(t) / 2;
    const mem = o.buf === 1 ? (o.wide ? scen64 : scen32) : o.wide ? mem64 : mem32;
    const val = (x) => (o.wide ? x : Number(BigInt.asIntN(32, x)));
    const before = mem[o.index];
    let result;
    const event = { thread: t, kind: "step", op: C.OP_NAMES[o.op], word: o.buf === 0 ? (o.wide ? o.index * 2 : o.index) : -1, where: o.where, freeLoads: o.freeLoads };
    const name = label(o.buf, o.index, o.wide);
    switch (o.op) {
      case C.Op.load:
        result = Atomics.load(mem, o.index);
        event.text = `load ${name} → ${result}`;
        break;
      case C.Op.store:
        result = Atomics.store(mem, o.index, val(o.a));
        event.text = `store ${name} ← ${val(o.a)}`;
        break;
      case C.Op.compareExchange:
        result = Atomics.compareExchange(mem, o.index, val(o.a), val(o.b));
        event.text = `compareExchange ${name} ${val(o.a)} → ${val(o.b)}: saw ${result}${result === val(o.a) ? "" : " (failed)"}`;
        event.success = result === val(o.a);
        event.from = val(o.a);
        event.to = val(o.b);
        break;
      case C.Op.add:
      case C.Op.sub:
      case C.Op.and:
      case C.Op.or:
      case C.Op.xor:
      case C.Op.exchange: {
        const f = C.OP_NAMES[o.op];
        result = Atomics[f](mem, o.index, val(o.a));
        event.text = `${f} ${name} ${val(o.a)}: was ${result}, now ${mem[o.index]}`;
        break;
      }
      case C.Op.notify: {
        const count = Number(o.a) < 0 ? Infinity : Number(o.a);
        const sleepers = threads
          .filter((x) => x.state === "blocked" && x.block.buf === o.buf && x.block.index === o.index && !o.wide)
          .sort((x, y) => x.block.seq - y.block.seq)
          .slice(0, count);
        for (const x of sleepers) {
          x.state = "pending";
          x.block = undefined;
          x.op = { op: C.Op.wake, buf: -1, index: -1 };
          x.wakeResult = 0;
        }
        result = sleepers.length;
        event.text = `notify ${name} (${count === Infinity ? "all" : count}): woke ${sleepers.map((x) => scenario.threads[x.t].name).join(", ") || "nobody"}`;
        break;
      }
      default:
        throw new ModelError(`model: cannot perform op ${o.op}`);
    }
    const after = mem[o.index];
    if (after !== before) {
      changes++;
      if (o.buf === 0 && model.cold[event.word] === 1) {
        violation ??= `model: a word assumed never written (${name}) was written: mark it hot in createModel`;
      }
    }
    if (o.buf === 0 && o.wide && o.index * 2 === lib.TICKET_WORD && o.op === C.Op.add) th.lastTicket = Number(result) + 1;
    if (o.buf === 0 && o.wide && o.index * 2 === lib.TXN_TICKET_WORD && o.op === C.Op.add) th.txnTicket = Number(result) + 1;
    event.result = String(result);
    cw[B8 + C.C_RESULT_I64] = typeof result === "bigint" ? result : BigInt(result | 0);
    th.prev = { op: o.op, buf: o.buf, index: o.index, changes };
    return event;
  };

  // Spinning: re-reading the word it just read, which nobody has changed since. Such a thread does nothing visible
  // until a write, so it is not scheduled in between (unless it is all that can run, or as a preemption: "spin").
  const spinning = (th) =>
    th.op.op === C.Op.load && th.prev && th.prev.op === C.Op.load && th.prev.buf === th.op.buf && th.prev.index === th.op.index && th.prev.changes === changes;

  // The transitions enabled now, default first.
  const alternatives = () => {
    const steps = [];
    const spins = [];
    const timed = [];
    const deaths = [];
    for (const th of threads) {
      if (!th.started) continue;
      if (th.state === "pending") {
        if (th.op.op === C.Op.wake || !spinning(th)) steps.push(th.t);
        else spins.push(th.t);
      } else if (th.state === "blocked" && Number.isFinite(th.block.deadline)) {
        timed.push(th);
      }
      if (th.spec.mortal && (th.state === "pending" || th.state === "blocked")) deaths.push(th.t);
    }
    const currentRuns = current >= 0 && steps.includes(current);
    const alts = [];
    // Steps: the current thread goes on (free); another thread (a preemption while the current one can run).
    const orderedSteps = currentRuns ? [current, ...steps.filter((t) => t !== current)] : steps;
    for (const t of orderedSteps) alts.push({ kind: "step", t, cost: currentRuns && t !== current ? 1 : 0 });
    // Spinners: run on through their loads; free when nothing else can run.
    for (const t of spins) alts.push({ kind: "spin", t, cost: steps.length > 0 ? 1 : 0 });
    // Timeouts: the earliest deadline first; time advances only to it.
    if (timeouts < (scenario.maxTimeouts ?? 6) && timed.length > 0) {
      const earliest = Math.min(...timed.map((x) => x.block.deadline));
      for (const x of timed) if (x.block.deadline === earliest) alts.push({ kind: "timeout", t: x.t, cost: steps.length + spins.length > 0 ? 1 : 0 });
    }
    for (const t of deaths) alts.push({ kind: "die", t, cost: t === current || steps.length === 0 ? 0 : 1 });
    return alts;
  };

  const describe = (alt) => `${alt.kind} ${scenario.threads[alt.t].name}`;

  // Executes one transition.
  const execute = (alt) => {
    const th = threads[alt.t];
    if (alt.cost > 0) preemptions += alt.cost;
    current = alt.t;
    if (alt.kind === "die") {
      th.state = "dead";
      th.block = undefined;
      trace.push({ thread: alt.t, kind: "die", text: "dies here (killed by the scheduler)" });
      abort(alt.t);
      th.outcome = "died";
      th.op = undefined;
      for (const x of threads) if (x.spec.reaperOf === alt.t && !x.started) {
        x.started = true;
        start(x.t);
      }
      return;
    }
    if (alt.kind === "timeout") {
      timeouts++;
      time = Math.max(time, th.block.deadline);
      trace.push({ thread: alt.t, kind: "timeout", text: `wait on ${label(th.block.buf, th.block.index, false)} times out (clock → ${time - 1000} ms)` });
      th.state = "pending";
      th.block = undefined;
      th.prev = undefined;
      grant(alt.t, 0, 2);
      return;
    }
    const o = th.op;
    if (o.op === C.Op.wake) {
      trace.push({ thread: alt.t, kind: "step", op: "wake", text: "wakes up (notified)" });
      th.prev = undefined;
      grant(alt.t, 0, 0);
      return;
    }
    if (o.op === C.Op.wait) {
      const mem = o.buf === 1 ? scen32 : mem32;
      const expected = Number(BigInt.asIntN(32, o.a));
      const name = label(o.buf, o.index, false);
      const where = o.where;
      th.prev = undefined;
      if (Atomics.load(mem, o.index) !== expected) {
        trace.push({ thread: alt.t, kind: "step", op: "wait", where, freeLoads: o.freeLoads, text: `wait ${name} expecting ${expected}: not-equal (${Atomics.load(mem, o.index)})` });
        grant(alt.t, 0, 1);
        return;
      }
      const hold = o.buf === 1 && o.index === 0;
      const never = !(o.timeout < C.NEVER_MS);
      th.state = "blocked";
      th.block = { buf: o.buf, index: o.index, expected, deadline: never || hold ? Infinity : time + o.timeout, hold, seq: blockSeq++ };
      trace.push({ thread: alt.t, kind: "step", op: "wait", where, freeLoads: o.freeLoads, text: `wait ${name} expecting ${expected}: sleeps${hold ? " (holding, for good)" : never ? " (no timeout)" : ` (timeout ${o.timeout} ms)`}` });
      return;
    }
    const event = perform(alt.t);
    if (alt.kind === "spin") event.text += " [spins on]";
    trace.push(event);
    grant(alt.t, alt.kind === "spin" ? 1 : 0);
  };

  try {
    for (const th of threads) if (th.started) start(th.t);
    let steps = 0;
    let choiceIndex = 0;
    for (;;) {
      if (violation) break;
      const live = threads.filter((th) => th.started && (th.state === "pending" || th.state === "blocked"));
      const holding = (th) => th.state === "blocked" && th.block.hold;
      // Finished: every thread done, dead, or sitting for good on what it holds.
      if (live.every(holding)) break;
      const alts = alternatives();
      const stepsEnabled = alts.some((a) => a.kind === "step" || a.kind === "spin");
      if (!stepsEnabled) {
        // Nobody can run: a sleeper whose word has already changed will never be woken by a notify (only a
        // timeout could end its sleep, and a wake-up must not depend on one).
        for (const th of threads) {
          if (th.state !== "blocked" || th.block.hold) continue;
          const mem = th.block.buf === 1 ? scen32 : mem32;
          const now = Atomics.load(mem, th.block.index);
          if (now !== th.block.expected) {
            violation = `lost wake-up: ${scenario.threads[th.t].name} sleeps on ${label(th.block.buf, th.block.index, false)} expecting ${th.block.expected}, but it holds ${now} and no thread is left to notify`;
            break;
          }
        }
        if (violation) break;
      }
      if (alts.length === 0) {
        const stuck = live.filter((th) => !holding(th)).map((th) => scenario.threads[th.t].name);
        violation = `hang: ${stuck.join(", ")} can never go on${timeouts >= (scenario.maxTimeouts ?? 6) ? ` (after ${timeouts} timeouts, the most this scenario allows)` : ""}`;
        break;
      }
      const affordable = alts.map((a) => preemptions + a.cost <= scenario.preemptions);
      let pick = 0;
      if (alts.length > 1) {
        if (choiceIndex < prefix.length) {
          pick = prefix[choiceIndex];
          if (pick >= alts.length) throw new ModelError(`model: replay diverged at choice ${choiceIndex} (the code under test is not deterministic?)`);
        }
        choices.push({ alts: alts.map((a) => ({ ...a })), pick, preemptionsBefore: preemptions });
        choiceIndex++;
      }
      if (!affordable[pick]) throw new ModelError("model: internal: picked an alternative over the bound");
      execute(alts[pick]);
      if (++steps > STEP_LIMIT) {
        violation = `livelock: more than ${STEP_LIMIT} steps`;
        break;
      }
    }
    if (!violation) {
      const run = {
        outcomes: threads.map((th) => th.outcome ?? (th.state === "blocked" && th.block?.hold ? "holding" : th.started ? "unfinished" : "not started")),
        trace,
        data: model.data,
        ticketsWhenDone: (t) => threads[t].ticketsAtDone ?? threads.map((x) => x.lastTicket),
        casSucceeded: (t, word) => trace.some((e) => e.thread === t && e.op === "compareExchange" && e.word === word && e.success),
        isAlive: (id) => lib.aliveIn(model.rtBuffer, id),
        load: (word) => Atomics.load(mem32, word),
        txnTicket: (t) => threads[t].txnTicket ?? 0,
        acquiredAt: (t, word) =>
          trace.findIndex((e) => e.thread === t && e.op === "compareExchange" && e.word === word && e.success && e.from >>> 3 === 0 && e.to >>> 3 !== 0),
      };
      violation = scenario.check(run);
      if (violation) violation = `property: ${violation} (outcomes: ${run.outcomes.join(", ")})`;
    }
  } finally {
    for (const th of threads) if (th.started && (th.state === "pending" || th.state === "blocked")) abort(th.t);
  }
  return { choices, trace, violation, outcomes: threads.map((th) => th.outcome) };
}

/** Prints an interleaving step by step. */
export function formatTrace(scenario, trace) {
  const lines = [];
  let i = 0;
  for (const e of trace) {
    const who = scenario.threads[e.thread].name.padEnd(8);
    const free = e.freeLoads ? `  (after ${e.freeLoads} more loads while running alone)` : "";
    const text = e.kind === "done" ? `finishes: ${e.result}` : e.text;
    lines.push(`  ${String(++i).padStart(4)}  ${who} ${text}${e.where ? `    @ ${e.where}` : ""}${free}`);
  }
  return lines.join("\n");
}

/**
 * Explores `scenario`; returns { explored, complete, violation?, trace?, schedule? }. `budget` caps the
 * interleavings run (the search then reports itself incomplete).
 */
export async function explore(lib, scenario, bundle, { budget = 5000, bound = scenario.preemptions, log = () => {} } = {}) {
  const setup = await startWorkers(lib, scenario, bundle);
  let explored = 0;
  // Iterative context bounding (CHESS): every interleaving with fewer preemptions first, so that a budget that runs
  // out leaves the lower bounds fully explored rather than a corner of the highest.
  let completeBound = -1;
  try {
    for (let b = bound >= 2 ? 1 : 0; b <= bound; b++) {
      const ctx = { ...setup, scenario: { ...scenario, preemptions: b }, lib };
      let prefix = [];
      for (;;) {
        const result = runOnce(ctx, prefix, false);
        explored++;
        if (result.violation) {
          const schedule = result.choices.map((ch) => ch.pick);
          const replay = runOnce(ctx, schedule, true); // again, with source locations
          return { explored, complete: false, violation: result.violation, trace: formatTrace(scenario, replay.trace), schedule, bound: b, replayed: replay.violation };
        }
        if (explored % 200 === 0) log(`    … ${explored} interleavings`);
        // Backtrack: the deepest choice point with an untried alternative the preemption bound allows.
        let next;
        for (let i = result.choices.length - 1; i >= 0 && !next; i--) {
          const ch = result.choices[i];
          for (let j = ch.pick + 1; j < ch.alts.length; j++) {
            if (ch.preemptionsBefore + ch.alts[j].cost <= b) {
              next = [...result.choices.slice(0, i).map((x) => x.pick), j];
              break;
            }
          }
        }
        if (!next) break;
        if (explored >= budget) return { explored, complete: false, completeBound };
        prefix = next;
      }
      completeBound = b;
    }
    return { explored, complete: true, completeBound };
  } finally {
    await Promise.all(setup.workers.map((w) => w.terminate()));
  }
}

/** Replays one schedule (from a failure report) and prints it. */
export async function replay(lib, scenario, bundle, schedule) {
  const setup = await startWorkers(lib, scenario, bundle);
  try {
    const result = runOnce({ ...setup, scenario, lib }, schedule, true);
    return { violation: result.violation, trace: formatTrace(scenario, result.trace) };
  } finally {
    await Promise.all(setup.workers.map((w) => w.terminate()));
  }
}
