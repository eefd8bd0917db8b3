// Rust std's mpmc channel tests (library/std/tests/sync/mpmc.rs), ported test by test to the names of DESIGN.md §1b.
// `mpmc::channel()` is `channel(layout)` (unbounded up to its `maxBytes`, 8 MiB by default: far above every count
// here), `thread::spawn` is `spawn` (a real worker), `join().unwrap()` is `await join()`, a panic is a thrown Error
// (so `join().is_err()` is a `join()` rejecting with ThreadError), `drop(tx)`/`drop(rx)` is `close()`.
//
// Rust's `Result`s become: `send` → returns or throws `SendError` (`.value` is the message); `recv` → the value or
// `RecvError`; `try_recv` → the value, `undefined` (Empty) or `RecvError` (Disconnected); `recv_timeout` →
// `recv({ timeout })`, throwing `TimeoutError` (Timeout) or `RecvError` (Disconnected); `iter()`/`into_iter()` are
// `for … of rx` / `rx[Symbol.iterator]()`. `try_iter()` has no §1b counterpart: `tryIter` below is its honest
// equivalent in two lines of `tryRecv`.
//
// Moves and clones. A closure that moves a side into a thread is `spawn(fn, [side])` followed by `side.close()` in the
// spawning thread (Rust's move leaves nothing behind; in JS the spawner still holds its handle until it closes it).
// DESIGN §1b counts sides per thread ("each thread holding a Sender counts as one sender"): there is no `clone()`, and
// `receive(share(tx))` in the same thread gives back the same object. So a Rust clone that lives on in another thread
// is the side passed to a spawned thread; a clone used side by side with its original in one thread is the original
// itself; and a clone that outlives a `drop` of its original in the same thread (drop_full_shared,
// smoke_shared_port_gone2, destroy_upgraded_shared_port_when_sender_still_active) is ported with the clone in its own
// thread, since closing this thread's Sender ends this thread's only count (a deliberate decision, asserted in
// `same-thread clones are this thread's one Sender` at the end).
//
// Scaled down: stress_recv_timeout_shared and shared_chan_stress spawn `stress_factor() + 100` = 101 threads in Rust;
// both pass here with 101 but take 27–65 s each on this shared 2-core machine (a worker costs far more than an OS thread), so
// they spawn STRESS_FACTOR + 20 = 21 (same structure and oracle). Every other count is Rust's.
//
// Rust's `()` payload is `bool` (there is no unit layout; `true` stands for `()`), `Box<i32>`/`Box<isize>` is `json`
// (a heap value of any shape). `stress_factor()` is 1, as in Rust without RUST_TEST_STRESS. Interleavings Rust
// orders with `thread::sleep`/`yield_now` "to make sure the other thread has gone to sleep" are ordered here by
// polling `dumpLocks()`; sleeps that are part of a test's scenario (a sender that sleeps between sends) stay sleeps.
// Tests whose threads wake each other run with the parking slice raised, so a lost wake-up hangs instead of being
// rescued by the 100 ms re-check.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  RecvError,
  Receiver,
  SendError,
  Sender,
  ThreadError,
  TimeoutError,
  bool,
  channel,
  dumpLocks,
  i32,
  json,
  receive,
  share,
  spawn,
  type JoinHandle,
} from "threadsafe";
import { until } from "./support/contract-helpers.ts";
import { withRaisedSlice } from "./support/park-slice.ts";

/** Rust's `stress_factor()` without RUST_TEST_STRESS. */
const STRESS_FACTOR = 1;
/** Rust's `()`: there is no unit layout. */
const unit = bool;
/** Rust's `Box<i32>`: a heap value. */
const boxed = json(32);

/** Whether `dumpLocks()` lists a sync waiter on the channel named `name` (a thread blocked in recv or send). */
function blockedOn(name: string): boolean {
  return dumpLocks().locks.some((l) => l.lock.name === name && l.kind === "Channel" && l.waiters.some((w) => w.kind === "sync"));
}

/** Rust's `move` into a spawned thread: the spawning thread drops its own handles. */
function moved(...sides: ReadonlyArray<{ close(): void }>): void {
  for (const side of sides) side.close();
}

/** Rust's `try_iter()`: the messages there right now; ends at Empty or Disconnected. */
function* tryIter<T>(rx: { tryRecv(): T | undefined }): Generator<T, void, undefined> {
  for (;;) {
    let v: T | undefined;
    try {
      v = rx.tryRecv();
    } catch (e) {
      if (e instanceof RecvError) return;
      throw e;
    }
    if (v === undefined) return;
    yield v;
  }
}

/** `join().is_err()` with the panic's payload named: the thread threw an error named `errorName`. */
async function panicked(h: JoinHandle<unknown>, errorName: string): Promise<void> {
  await assert.rejects(h.join(), (e: unknown) => {
    assert.ok(e instanceof ThreadError, `expected ThreadError, got ${String(e)}`);
    assert.equal(e.how, "threw");
    assert.equal((e.error as { name?: string } | undefined)?.name, errorName, `the thread threw ${String((e.error as Error | undefined)?.message)}`);
    return true;
  });
}

const isSendError = (value: unknown) => (e: unknown) => e instanceof SendError && e.name === "SendError" && e.value === value;
const isRecvError = (e: unknown) => e instanceof RecvError && e.name === "RecvError";
const isTimeout = (e: unknown) => e instanceof TimeoutError && e.name === "TimeoutError";

test("smoke: send 1, recv 1", { timeout: 10_000 }, () => {
  const [tx, rx] = channel(i32);
  tx.send(1);
  assert.equal(rx.recv(), 1);
});

test("drop_full: dropping both sides with a message still in the channel", { timeout: 10_000 }, () => {
  const [tx, rx] = channel(boxed);
  tx.send(1);
  tx.close();
  rx.close(); // Rust: `_rx` dropped at the end with the Box inside
});

test("drop_full_shared: clones of the Sender dropped (in their threads); the original still sends", { timeout: 60_000 }, async () => {
  const [tx, rx] = channel(boxed);
  // Each `drop(tx.clone())` is a clone that ends at once: a thread that gets the Sender and drops it.
  for (let k = 0; k < 2; k++) await spawn((tx: Sender<unknown>) => tx.close(), [tx]).join();
  tx.send(1);
  assert.equal(rx.recv(), 1);
  rx.close();
});

test("smoke_shared: send/recv, then through a clone (in one thread: the same Sender)", { timeout: 10_000 }, () => {
  const [tx, rx] = channel(i32);
  tx.send(1);
  assert.equal(rx.recv(), 1);
  const tx2 = receive<Sender<number>>(share(tx)); // `tx.clone()` in the same thread
  tx2.send(1);
  assert.equal(rx.recv(), 1);
});

test("smoke_threads: one thread sends 0 and 1, another receives them in order", { timeout: 60_000 }, async () => {
  await withRaisedSlice(async () => {
    const [tx, rx] = channel(i32);
    const t1 = spawn((tx: Sender<number>) => {
      for (let i = 0; i < 2; i++) tx.send(i);
    }, [tx]);
    const t2 = spawn((rx: Receiver<number>) => [rx.recv(), rx.recv()], [rx]);
    moved(tx, rx);
    await t1.join();
    assert.deepEqual(await t2.join(), [0, 1]);
  });
});

test("smoke_port_gone: send after the Receiver is dropped is an error", { timeout: 10_000 }, () => {
  const [tx, rx] = channel(i32);
  rx.close();
  assert.throws(() => tx.send(1), isSendError(1));
});

test("smoke_receiver_clone: the original Receiver dropped, its clone (another thread) receives", { timeout: 60_000 }, async () => {
  await withRaisedSlice(async () => {
    const [tx, rx] = channel(i32);
    const rx2 = spawn((rx: Receiver<number>) => rx.recv(), [rx]);
    rx.close(); // drop(rx): the clone keeps the channel connected
    tx.send(1);
    assert.equal(await rx2.join(), 1);
  });
});

test("smoke_receiver_clone_port_gone: a Receiver and its clone both dropped; send is an error", { timeout: 60_000 }, async () => {
  const [tx, rx] = channel(i32);
  const rx2 = spawn((rx: Receiver<number>) => rx.close(), [rx]);
  rx.close();
  await rx2.join();
  assert.throws(() => tx.send(1), isSendError(1));
});

test("smoke_shared_port_gone: send after the Receiver is dropped is an error", { timeout: 10_000 }, () => {
  const [tx, rx] = channel(i32);
  rx.close();
  assert.throws(() => tx.send(1), isSendError(1));
});

test("smoke_shared_port_gone2: Receiver dropped, the original Sender dropped, the clone's send is an error", { timeout: 60_000 }, async () => {
  const [tx, rx] = channel(i32);
  rx.close();
  const f = new Int32Array(new SharedArrayBuffer(8));
  // tx2: a clone that outlives `drop(tx)`: in its own thread (see the header).
  const tx2 = spawn(
    (tx: Sender<number>, f: Int32Array) => {
      Atomics.wait(f, 0, 0, 30_000); // until the original is dropped
      try {
        tx.send(1);
        return "sent";
      } catch (e) {
        return `${(e as Error).name} ${(e as SendError<number>).value}`;
      }
    },
    [tx, f],
  );
  tx.close();
  Atomics.store(f, 0, 1);
  Atomics.notify(f, 0);
  assert.equal(await tx2.join(), "SendError 1");
});

test("port_gone_concurrent: send until the receiving thread (one recv) has ended", { timeout: 60_000 }, async () => {
  await withRaisedSlice(async () => {
    const [tx, rx] = channel(i32);
    const t = spawn((rx: Receiver<number>) => { rx.recv(); }, [rx]);
    moved(rx);
    let sent = 0;
    for (;;) {
      try {
        tx.send(1);
        sent++;
      } catch (e) {
        assert.ok(isSendError(1)(e), `expected SendError, got ${String(e)}`);
        break;
      }
    }
    assert.ok(sent >= 1, "the thread received one message, so one send at least succeeded");
    await t.join();
  });
});

test("port_gone_concurrent_shared: two Senders send until the receiving thread has ended", { timeout: 60_000 }, async () => {
  await withRaisedSlice(async () => {
    const [tx, rx] = channel(i32);
    const tx2 = tx; // `tx.clone()` used side by side in the same thread: this thread's one Sender
    const t = spawn((rx: Receiver<number>) => { rx.recv(); }, [rx]);
    moved(rx);
    for (;;) {
      try {
        tx.send(1);
        tx2.send(1);
      } catch (e) {
        assert.ok(isSendError(1)(e), `expected SendError, got ${String(e)}`);
        break;
      }
    }
    await t.join();
  });
});

test("smoke_chan_gone: recv after the Sender is dropped is an error", { timeout: 10_000 }, () => {
  const [tx, rx] = channel(i32);
  tx.close();
  assert.throws(() => rx.recv(), isRecvError);
});

test("smoke_chan_gone_shared: a Sender and its clone dropped; recv is an error", { timeout: 10_000 }, () => {
  const [tx, rx] = channel(unit);
  const tx2 = receive<Sender<boolean>>(share(tx)); // in the same thread: the same Sender
  tx.close();
  tx2.close(); // closing twice is harmless
  assert.throws(() => rx.recv(), isRecvError);
});

test("chan_gone_concurrent: recv until the sending thread (two sends) has ended", { timeout: 60_000 }, async () => {
  await withRaisedSlice(async () => {
    const [tx, rx] = channel(i32);
    const t = spawn((tx: Sender<number>) => {
      tx.send(1);
      tx.send(1);
    }, [tx]);
    moved(tx);
    let received = 0;
    for (;;) {
      try {
        assert.equal(rx.recv(), 1);
        received++;
      } catch (e) {
        assert.ok(isRecvError(e), `expected RecvError, got ${String(e)}`);
        break;
      }
    }
    assert.equal(received, 2);
    await t.join();
  });
});

test("receiver_cloning: a clone and the original take turns on one queue (1 to the clone, 2 to the original)", { timeout: 60_000 }, async () => {
  const [tx, rx] = channel(i32);
  tx.send(1);
  tx.send(2);
  assert.equal(await spawn((rx2: Receiver<number>) => rx2.recv(), [rx]).join(), 1);
  assert.equal(rx.recv(), 2);
});

test("stress: 10,000 messages from one thread, received in this one", { timeout: 60_000 }, async () => {
  await withRaisedSlice(async () => {
    const count = 10_000;
    const [tx, rx] = channel(i32);
    const t = spawn((tx: Sender<number>, count: number) => {
      for (let i = 0; i < count; i++) tx.send(1);
    }, [tx, count]);
    moved(tx);
    for (let i = 0; i < count; i++) assert.equal(rx.recv(), 1);
    await t.join();
  });
});

test("stress_shared: 8 sending threads × 10,000 → one receiving thread; nothing more after", { timeout: 120_000 }, async () => {
  await withRaisedSlice(async () => {
    const AMT = 10_000;
    const NTHREADS = 8;
    const [tx, rx] = channel(i32);
    const t = spawn(
      (rx: Receiver<number>, total: number) => {
        for (let i = 0; i < total; i++) {
          const v = rx.recv();
          if (v !== 1) throw new Error(`message ${i} was ${v}`);
        }
        let extra: number | undefined;
        try {
          extra = rx.tryRecv(); // Empty or Disconnected, never a message
        } catch (e) {
          if ((e as Error).name !== "RecvError") throw e;
        }
        if (extra !== undefined) throw new Error(`an extra message: ${extra}`);
        return total;
      },
      [rx, AMT * NTHREADS],
    );
    const senders: JoinHandle<void>[] = [];
    for (let k = 0; k < NTHREADS; k++) {
      senders.push(spawn((tx: Sender<number>, amt: number) => {
        for (let i = 0; i < amt; i++) tx.send(1);
      }, [tx, AMT]));
    }
    moved(tx, rx);
    assert.equal(await t.join(), AMT * NTHREADS);
    await Promise.all(senders.map((h) => h.join()));
  });
});

test("send_from_outside_runtime: a thread signals, then receives 40 messages another thread sends", { timeout: 60_000 }, async () => {
  await withRaisedSlice(async () => {
    const [tx1, rx1] = channel(unit);
    const [tx2, rx2] = channel(i32);
    const t1 = spawn(
      (tx1: Sender<boolean>, rx2: Receiver<number>) => {
        tx1.send(true);
        for (let i = 0; i < 40; i++) if (rx2.recv() !== 1) throw new Error("not 1");
      },
      [tx1, rx2],
    );
    moved(tx1, rx2);
    assert.equal(rx1.recv(), true);
    const t2 = spawn((tx2: Sender<number>) => {
      for (let i = 0; i < 40; i++) tx2.send(1);
    }, [tx2]);
    moved(tx2);
    await t1.join();
    await t2.join();
  });
});

test("recv_from_outside_runtime: a thread receives 40 messages this one sends", { timeout: 60_000 }, async () => {
  await withRaisedSlice(async () => {
    const [tx, rx] = channel(i32);
    const t = spawn((rx: Receiver<number>) => {
      for (let i = 0; i < 40; i++) if (rx.recv() !== 1) throw new Error("not 1");
    }, [rx]);
    moved(rx);
    for (let i = 0; i < 40; i++) tx.send(1);
    await t.join();
  });
});

test("no_runtime: two threads exchange 1 and 2 over two channels", { timeout: 60_000 }, async () => {
  await withRaisedSlice(async () => {
    const [tx1, rx1] = channel(i32);
    const [tx2, rx2] = channel(i32);
    const t1 = spawn(
      (rx1: Receiver<number>, tx2: Sender<number>) => {
        const got = rx1.recv();
        tx2.send(2);
        return got;
      },
      [rx1, tx2],
    );
    const t2 = spawn(
      (tx1: Sender<number>, rx2: Receiver<number>) => {
        tx1.send(1);
        return rx2.recv();
      },
      [tx1, rx2],
    );
    moved(tx1, rx1, tx2, rx2);
    assert.equal(await t1.join(), 1);
    assert.equal(await t2.join(), 2);
  });
});

test("oneshot_single_thread_close_port_first: drop the Receiver without sending", { timeout: 10_000 }, () => {
  const [tx, rx] = channel(i32);
  rx.close();
  tx.close();
});

test("oneshot_single_thread_close_chan_first: drop the Sender without sending", { timeout: 10_000 }, () => {
  const [tx, rx] = channel(i32);
  tx.close();
  rx.close();
});

test("oneshot_single_thread_send_port_close: send of a boxed value after the Receiver is dropped is an error", { timeout: 10_000 }, () => {
  const [tx, rx] = channel(boxed);
  rx.close();
  assert.throws(() => tx.send(0), isSendError(0));
});

test("oneshot_single_thread_recv_chan_close: a thread whose recv on a closed channel panics: join is an error", { timeout: 60_000 }, async () => {
  const res = spawn(async () => {
    const { channel, i32 } = await import("threadsafe");
    const [tx, rx] = channel(i32);
    tx.close();
    rx.recv(); // RecvError, thrown: the thread "panics"
  });
  await panicked(res, "RecvError");
});

test("oneshot_single_thread_send_then_recv: a boxed 10 round-trips", { timeout: 10_000 }, () => {
  const [tx, rx] = channel(boxed);
  tx.send(10);
  assert.equal(rx.recv(), 10);
});

test("oneshot_single_thread_try_send_open: send is ok, recv gives 10", { timeout: 10_000 }, () => {
  const [tx, rx] = channel(i32);
  assert.equal(tx.send(10), undefined);
  assert.equal(rx.recv(), 10);
});

test("oneshot_single_thread_try_send_closed: send after the Receiver is dropped is an error", { timeout: 10_000 }, () => {
  const [tx, rx] = channel(i32);
  rx.close();
  assert.throws(() => tx.send(10), isSendError(10));
});

test("oneshot_single_thread_try_recv_open: recv gives Ok(10)", { timeout: 10_000 }, () => {
  const [tx, rx] = channel(i32);
  tx.send(10);
  assert.equal(rx.recv(), 10);
});

test("oneshot_single_thread_try_recv_closed: recv after the Sender is dropped is an error", { timeout: 10_000 }, () => {
  const [tx, rx] = channel(i32);
  tx.close();
  assert.throws(() => rx.recv(), isRecvError);
});

test("oneshot_single_thread_peek_data: try_recv is Empty, then Ok(10)", { timeout: 10_000 }, () => {
  const [tx, rx] = channel(i32);
  assert.equal(rx.tryRecv(), undefined);
  tx.send(10);
  assert.equal(rx.tryRecv(), 10);
});

test("oneshot_single_thread_peek_close: try_recv is Disconnected, twice", { timeout: 10_000 }, () => {
  const [tx, rx] = channel(i32);
  tx.close();
  assert.throws(() => rx.tryRecv(), isRecvError);
  assert.throws(() => rx.tryRecv(), isRecvError);
});

test("oneshot_single_thread_peek_open: try_recv is Empty", { timeout: 10_000 }, () => {
  const [tx, rx] = channel(i32);
  assert.equal(rx.tryRecv(), undefined);
  void tx;
});

test("oneshot_multi_task_recv_then_send: a thread receives the boxed 10 this one sends", { timeout: 60_000 }, async () => {
  await withRaisedSlice(async () => {
    const [tx, rx] = channel(boxed);
    const t = spawn((rx: Receiver<unknown>) => {
      const v = rx.recv();
      if (v !== 10) throw new Error(`got ${JSON.stringify(v)}`);
    }, [rx]);
    moved(rx);
    tx.send(10);
    await t.join();
  });
});

test("oneshot_multi_task_recv_then_close: a thread drops the Sender; the receiving thread panics: join is an error", { timeout: 60_000 }, async () => {
  await withRaisedSlice(async () => {
    const [tx, rx] = channel(boxed);
    const t = spawn((tx: Sender<unknown>) => tx.close(), [tx]);
    const res = spawn((rx: Receiver<unknown>) => {
      if (rx.recv() !== 10) throw new Error("not 10");
    }, [rx]);
    moved(tx, rx);
    await panicked(res, "RecvError");
    await t.join();
  });
});

test("oneshot_multi_thread_close_stress: a thread drops the Receiver while this one drops the Sender", { timeout: 60_000 }, async () => {
  for (let k = 0; k < STRESS_FACTOR; k++) {
    const [tx, rx] = channel(i32);
    const t = spawn((rx: Receiver<number>) => rx.close(), [rx]);
    moved(rx);
    tx.close();
    await t.join();
  }
});

test("oneshot_multi_thread_send_close_stress: one thread drops the Receiver, another sends (either outcome)", { timeout: 60_000 }, async () => {
  for (let k = 0; k < STRESS_FACTOR; k++) {
    const [tx, rx] = channel(i32);
    const t = spawn((rx: Receiver<number>) => rx.close(), [rx]);
    const s = spawn((tx: Sender<number>) => tx.send(1), [tx]);
    moved(tx, rx);
    // Rust ignores this join's result: the send may come before or after the drop; any other error is a bug.
    await s.join().catch((e: unknown) => {
      assert.ok(e instanceof ThreadError && (e.error as Error | undefined)?.name === "SendError", `unexpected ${String(e)}`);
    });
    await t.join();
  }
});

test("oneshot_multi_thread_recv_close_stress: nested threads: a receiver panics once a nested thread dropped the Sender", { timeout: 60_000 }, async () => {
  await withRaisedSlice(async () => {
    for (let k = 0; k < STRESS_FACTOR; k++) {
      const [tx, rx] = channel(i32);
      const a = spawn(
        async (rx: Receiver<number>) => {
          const { spawn } = await import("threadsafe");
          const inner = spawn((rx: Receiver<number>) => { rx.recv(); }, [rx]);
          rx.close();
          try {
            await inner.join();
            return "ok";
          } catch (e) {
            return `${(e as Error).name} ${((e as { error?: Error }).error)?.name}`;
          }
        },
        [rx],
      );
      const b = spawn(
        async (tx: Sender<number>) => {
          const { spawn } = await import("threadsafe");
          spawn((tx: Sender<number>) => tx.close(), [tx]); // detached, as in Rust (its parent waits for it: README)
          tx.close();
        },
        [tx],
      );
      moved(tx, rx);
      assert.equal(await a.join(), "ThreadError RecvError"); // Rust: `assert!(res.is_err())` in the outer thread
      await b.join();
    }
  });
});

test("oneshot_multi_thread_send_recv_stress: a thread sends a boxed 10, this one receives it", { timeout: 60_000 }, async () => {
  await withRaisedSlice(async () => {
    for (let k = 0; k < STRESS_FACTOR; k++) {
      const [tx, rx] = channel(boxed);
      const t = spawn((tx: Sender<unknown>) => tx.send(10), [tx]);
      moved(tx);
      assert.equal(rx.recv(), 10);
      await t.join();
    }
  });
});

test("stream_send_recv_stress: a chain of 10 threads each sends its i; a chain of 10 each receives its i", { timeout: 120_000 }, async () => {
  await withRaisedSlice(async () => {
    for (let k = 0; k < STRESS_FACTOR; k++) {
      const [tx, rx] = channel(boxed);
      // [0]: receives that matched their i, [1]: mismatches (a detached thread's panic reaches nobody: count it)
      const tally = new Int32Array(new SharedArrayBuffer(8));
      // Rust's `send(tx, i)`/`recv(rx, i)` spawn a thread that does step i and then calls the next one.
      async function sendStep(tx: Sender<unknown>, i: number): Promise<void> {
        tx.send(i);
        if (i + 1 === 10) return;
        const { spawn } = await import("threadsafe");
        spawn(sendStep, [tx, i + 1]);
        tx.close(); // moved into the next thread
      }
      async function recvStep(rx: Receiver<unknown>, i: number, tally: Int32Array): Promise<void> {
        Atomics.add(tally, rx.recv() === i ? 0 : 1, 1);
        if (i + 1 === 10) return;
        const { spawn } = await import("threadsafe");
        spawn(recvStep, [rx, i + 1, tally]);
        rx.close();
      }
      const s = spawn(sendStep, [tx, 0]);
      const r = spawn(recvStep, [rx, 0, tally]);
      moved(tx, rx);
      // A thread's join waits for the threads it started (README), so these two wait for the whole chains.
      await s.join();
      await r.join();
      assert.deepEqual([...tally], [10, 0]);
    }
  });
});

test("oneshot_single_thread_recv_timeout: Ok, Timeout, then Ok again", { timeout: 10_000 }, () => {
  const [tx, rx] = channel(unit);
  tx.send(true);
  assert.equal(rx.recv({ timeout: 1 }), true);
  assert.throws(() => rx.recv({ timeout: 1 }), isTimeout);
  tx.send(true);
  assert.equal(rx.recv({ timeout: 1 }), true);
});

test("stress_recv_timeout_two_threads: 51 messages, sent with pauses, received through 10 ms timeouts", { timeout: 60_000 }, async () => {
  const [tx, rx] = channel(i32);
  const stress = STRESS_FACTOR + 50;
  const timeout = 10;
  const t = spawn(
    (tx: Sender<number>, stress: number, timeout: number) => {
      const nap = new Int32Array(new SharedArrayBuffer(4));
      for (let i = 0; i < stress; i++) {
        if (i % 2 === 0) Atomics.wait(nap, 0, 0, timeout * 4); // Rust: thread::sleep(timeout * 4)
        tx.send(1);
      }
    },
    [tx, stress, timeout],
  );
  moved(tx);
  let recvCount = 0;
  let gotTimeout = false;
  for (;;) {
    try {
      assert.equal(rx.recv({ timeout }), 1);
      recvCount++;
    } catch (e) {
      if (isTimeout(e)) {
        // Counted between the first and the last message: a worker takes far longer to start and to end (which drops
        // its Sender) than a Rust thread, so waits before the first message and after the last time out whatever the
        // sender does (the assertion could not fail); only the sender's sleeps make one time out in between.
        if (recvCount > 0 && recvCount < stress) gotTimeout = true;
        continue;
      }
      assert.ok(isRecvError(e), `expected RecvError, got ${String(e)}`);
      break;
    }
  }
  assert.equal(recvCount, stress);
  assert.ok(gotTimeout, "a recv timed out while the sender slept");
  await t.join();
});

test("recv_timeout_upgrade: with a cloned Sender alive, recv_timeout(1 ms) times out, not before 1 ms", { timeout: 10_000 }, () => {
  const [tx, rx] = channel(unit);
  const timeout = 1;
  const txClone = tx; // `tx.clone()` kept alive in the same thread: this thread's one Sender
  const start = performance.now();
  assert.throws(() => rx.recv({ timeout }), isTimeout);
  // Rust's `Instant::now() >= start + timeout`: the timeout did not end the wait early (a lower bound only).
  assert.ok(performance.now() - start >= timeout, `returned after ${performance.now() - start} ms`);
  void txClone;
});

test("stress_recv_timeout_shared: 21 threads (Rust: 101) each send once after i×10 ms; received through 10 ms timeouts", { timeout: 180_000 }, async () => {
  const [tx, rx] = channel(i32);
  const stress = STRESS_FACTOR + 20; // Rust: + 100 (see the header)
  const threads: JoinHandle<void>[] = [];
  for (let i = 0; i < stress; i++) {
    threads.push(spawn((tx: Sender<number>, i: number) => {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, i * 10); // Rust: thread::sleep(i × 10 ms)
      tx.send(1);
    }, [tx, i]));
  }
  moved(tx);
  let recvCount = 0;
  for (;;) {
    try {
      assert.equal(rx.recv({ timeout: 10 }), 1);
      recvCount++;
    } catch (e) {
      if (isTimeout(e)) continue;
      assert.ok(isRecvError(e), `expected RecvError, got ${String(e)}`);
      break;
    }
  }
  assert.equal(recvCount, stress);
  await Promise.all(threads.map((h) => h.join()));
});

test("very_long_recv_timeout_wont_panic: recv_timeout(u64::MAX seconds) waits and then receives", { timeout: 60_000 }, async () => {
  await withRaisedSlice(async () => {
    const name = "very-long-timeout";
    const [tx, rx] = channel(unit, { name });
    const U64_MAX_SECONDS_MS = 18446744073709551615 * 1000; // Duration::from_secs(u64::MAX), in ms
    const joinHandle = spawn((rx: Receiver<boolean>, timeout: number) => rx.recv({ timeout }), [rx, U64_MAX_SECONDS_MS]);
    moved(rx);
    await until("the thread waits in recv", () => blockedOn(name)); // Rust: thread::sleep(1 s)
    tx.send(true);
    assert.equal(await joinHandle.join(), true);
  });
});

test("recv_a_lot: 10,000 sends, then 10,000 recvs", { timeout: 30_000 }, () => {
  const count = 10_000;
  const [tx, rx] = channel(unit);
  for (let i = 0; i < count; i++) tx.send(true);
  for (let i = 0; i < count; i++) rx.recv();
  assert.equal(rx.tryRecv(), undefined);
});

// The default parking slice here: a recv that ignored its timeout would sleep on with the senders' threads gone, and
// only the slice's re-check turns that into a DeadlockError instead of a hang of this (blocked) thread.
test("shared_recv_timeout: 5 threads send once; then Timeout, then Ok", { timeout: 60_000 }, async () => {
  const [tx, rx] = channel(unit);
  const total = 5;
  const threads: JoinHandle<void>[] = [];
  for (let i = 0; i < total; i++) threads.push(spawn((tx: Sender<boolean>) => tx.send(true), [tx]));
  for (let i = 0; i < total; i++) rx.recv();
  assert.throws(() => rx.recv({ timeout: 1 }), isTimeout);
  tx.send(true);
  assert.equal(rx.recv({ timeout: 1 }), true);
  await Promise.all(threads.map((h) => h.join()));
});

test("shared_chan_stress: 21 threads (Rust: 101) send once each; all received", { timeout: 180_000 }, async () => {
  await withRaisedSlice(async () => {
    const [tx, rx] = channel(unit);
    const total = STRESS_FACTOR + 20; // Rust: + 100 (see the header)
    const threads: JoinHandle<void>[] = [];
    for (let i = 0; i < total; i++) threads.push(spawn((tx: Sender<boolean>) => tx.send(true), [tx]));
    for (let i = 0; i < total; i++) rx.recv();
    await Promise.all(threads.map((h) => h.join()));
  });
});

test("test_nested_recv_iter: a thread sums the iteration until the Sender is dropped: 6", { timeout: 60_000 }, async () => {
  await withRaisedSlice(async () => {
    const [tx, rx] = channel(i32);
    const [totalTx, totalRx] = channel(i32);
    const t = spawn(
      (rx: Receiver<number>, totalTx: Sender<number>) => {
        let acc = 0;
        for (const x of rx) acc += x;
        totalTx.send(acc);
      },
      [rx, totalTx],
    );
    moved(rx, totalTx);
    tx.send(3);
    tx.send(1);
    tx.send(2);
    tx.close();
    assert.equal(totalRx.recv(), 6);
    await t.join();
  });
});

test("test_recv_iter_break: a thread breaks out of the iteration at count ≥ 3: 4", { timeout: 60_000 }, async () => {
  await withRaisedSlice(async () => {
    const [tx, rx] = channel(i32);
    const [countTx, countRx] = channel(i32);
    const t = spawn(
      (rx: Receiver<number>, countTx: Sender<number>) => {
        let count = 0;
        for (const x of rx) {
          if (count >= 3) break;
          count += x;
        }
        countTx.send(count);
      },
      [rx, countTx],
    );
    moved(rx, countTx);
    tx.send(2);
    tx.send(2);
    tx.send(2);
    try {
      tx.send(2); // `let _ = tx.send(2)`: the thread may have dropped its Receiver already
    } catch (e) {
      assert.ok(isSendError(2)(e), `expected SendError, got ${String(e)}`);
    }
    tx.close();
    assert.equal(countRx.recv(), 4);
    await t.join();
  });
});

test("test_recv_try_iter: a thread drains with try_iter and requests more until it has 6", { timeout: 60_000 }, async () => {
  await withRaisedSlice(async () => {
    const [requestTx, requestRx] = channel(unit);
    const [responseTx, responseRx] = channel(i32);
    const t = spawn(
      (responseRx: Receiver<number>, requestTx: Sender<boolean>) => {
        // Rust's try_iter(), inlined: the function runs in another thread and cannot see this module's helpers.
        const tryIter = function* (rx: Receiver<number>): Generator<number> {
          for (;;) {
            let v: number | undefined;
            try {
              v = rx.tryRecv();
            } catch (e) {
              if ((e as Error).name === "RecvError") return;
              throw e;
            }
            if (v === undefined) return;
            yield v;
          }
        };
        let count = 0;
        for (;;) {
          for (const x of tryIter(responseRx)) {
            count += x;
            if (count === 6) return count;
          }
          requestTx.send(true);
        }
      },
      [responseRx, requestTx],
    );
    moved(responseRx, requestTx);
    for (const _ of requestRx) {
      try {
        responseTx.send(2);
      } catch (e) {
        assert.ok(isSendError(2)(e), `expected SendError, got ${String(e)}`);
        break;
      }
    }
    assert.equal(await t.join(), 6);
  });
});

test("test_recv_into_iter_owned: the Receiver's iterator outlives the scope: 1, 2, then the end", { timeout: 10_000 }, () => {
  const iter = (() => {
    const [tx, rx] = channel(i32);
    tx.send(1);
    tx.send(2);
    tx.close(); // Rust drops tx at the end of the block (there is no Drop in JS)
    return rx[Symbol.iterator]();
  })();
  assert.equal(iter.next().value, 1);
  assert.equal(iter.next().value, 2);
  assert.equal(iter.next().done, true);
});

test("test_recv_into_iter_borrowed: iterating the Receiver: 1, 2, then the end", { timeout: 10_000 }, () => {
  const [tx, rx] = channel(i32);
  tx.send(1);
  tx.send(2);
  tx.close();
  const iter = rx[Symbol.iterator]();
  assert.equal(iter.next().value, 1);
  assert.equal(iter.next().value, 2);
  assert.equal(iter.next().done, true);
});

test("try_recv_states: Empty, Ok(1), Empty, then Disconnected once the thread dropped its Sender", { timeout: 60_000 }, async () => {
  await withRaisedSlice(async () => {
    const [tx1, rx1] = channel(i32);
    const [tx2, rx2] = channel(unit);
    const [tx3, rx3] = channel(unit);
    const t = spawn(
      (rx2: Receiver<boolean>, tx1: Sender<number>, tx3: Sender<boolean>) => {
        rx2.recv();
        tx1.send(1);
        tx3.send(true);
        rx2.recv();
        tx1.close();
        tx3.send(true);
      },
      [rx2, tx1, tx3],
    );
    moved(rx2, tx1, tx3);
    assert.equal(rx1.tryRecv(), undefined);
    tx2.send(true);
    rx3.recv();
    assert.equal(rx1.tryRecv(), 1);
    assert.equal(rx1.tryRecv(), undefined);
    tx2.send(true);
    rx3.recv();
    assert.throws(() => rx1.tryRecv(), isRecvError);
    await t.join();
  });
});

test("destroy_upgraded_shared_port_when_sender_still_active: a clone sends after the original is dropped; the receiving thread drops its Receiver", { timeout: 60_000 }, async () => {
  await withRaisedSlice(async () => {
    const name = "destroy-upgraded";
    const [tx, rx] = channel(unit, { name });
    const [tx2, rx2] = channel(unit);
    const t = spawn(
      (rx: Receiver<boolean>, tx2: Sender<boolean>) => {
        rx.recv();
        rx.close();
        tx2.send(true);
      },
      [rx, tx2],
    );
    moved(rx, tx2);
    await until("the thread has gone to sleep in recv", () => blockedOn(name)); // Rust: 5000 × yield_now
    // `let t = tx.clone(); drop(tx); t.send(())`: the clone outlives the original, so it is in its own thread.
    const clone = spawn((t: Sender<boolean>) => t.send(true), [tx]);
    tx.close();
    await clone.join();
    assert.equal(rx2.recv(), true);
    await t.join();
  });
});

test("issue_32114: a send after a failed send (Receiver dropped at once) is Err(SendError(123))", { timeout: 10_000 }, () => {
  const [tx, rx] = channel(i32);
  rx.close(); // Rust: `let (tx, _) = channel()` drops the Receiver at once
  try {
    tx.send(123);
  } catch (e) {
    assert.ok(isSendError(123)(e), `expected SendError(123), got ${String(e)}`);
  }
  assert.throws(() => tx.send(123), isSendError(123));
});

test("issue_39364: a thread clones the Sender during a recv_timeout and hands it back; recv_timeout never panics", { timeout: 60_000 }, async () => {
  const [tx, rx] = channel(unit);
  const started = new Int32Array(new SharedArrayBuffer(4));
  const t = spawn((tx: Sender<boolean>, started: Int32Array) => {
    Atomics.store(started, 0, 1);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 300); // Rust: thread::sleep(300 ms)
    const clone = tx; // `let _ = tx.clone()`: a clone in the same thread is this thread's Sender
    void clone;
    return tx; // handed back to the caller, not dropped
  }, [tx, started]);
  moved(tx);
  // A Rust thread starts in microseconds, a worker in ~100 ms: wait for it to run, so that it ends (and hands its
  // Sender back) during the 500 ms wait below, as in Rust.
  await until("the thread runs", () => Atomics.load(started, 0) === 1);
  // `let _ = rx.recv_timeout(500 ms)`: Rust ignores the result, which can only be Timeout: the Sender is never dropped,
  // it moves back to this thread through join (here: it lives on in the thread, then in flight in its return value).
  assert.throws(() => rx.recv({ timeout: 500 }), isTimeout);
  const keptTx = await t.join(); // delay dropping until the end of the test
  assert.ok(keptTx instanceof Sender, "join gave the Sender back");
  assert.throws(() => rx.recv({ timeout: 500 }), isTimeout); // Rust ignores it; with `_tx` alive it is a Timeout
  keptTx.close();
});

// DESIGN §1b: "each thread holding a Sender counts as one sender". Not a Rust test: the decision the clone tests above
// rest on, asserted so that a change to it shows.
test("same-thread clones are this thread's one Sender (DESIGN §1b: sides are counted per thread)", { timeout: 10_000 }, () => {
  const [tx, rx] = channel(i32);
  const clone = receive<Sender<number>>(share(tx));
  assert.equal(clone, tx);
  clone.close(); // Rust's `drop(tx.clone())` would leave tx usable; here it drops this thread's Sender
  assert.throws(() => tx.send(1), /closed its Sender/);
  assert.throws(() => rx.recv(), isRecvError);
});
