// 4 producers x 250,000 i32 -> 4 consumers, as threadsafe's bench `channel-mpmc`; ns per message, median of 7.
use std::sync::{mpsc, Arc, Barrier, Mutex};
use std::thread;
use std::time::Instant;

const N: u64 = 1_000_000;
const P: u64 = 4;

fn run<S, R>(make: impl Fn() -> (S, R), send: fn(&S, u64), consume: fn(R) -> (u64, u64), consumers: usize) -> f64
where
    S: Clone + Send + 'static,
    R: Clone + Send + 'static,
{
    let (tx, rx) = make();
    let start = Arc::new(Barrier::new(P as usize + consumers + 1));
    let mut hs = Vec::new();
    for k in 0..P {
        let (tx, start) = (tx.clone(), start.clone());
        hs.push(thread::spawn(move || {
            start.wait();
            let per = N / P;
            for i in k * per..(k + 1) * per {
                send(&tx, i);
            }
            (0, 0)
        }));
    }
    drop(tx);
    let mut cs = Vec::new();
    for _ in 0..consumers {
        let (rx, start) = (rx.clone(), start.clone());
        cs.push(thread::spawn(move || {
            start.wait();
            consume(rx)
        }));
    }
    drop(rx);
    start.wait();
    let t0 = Instant::now();
    for h in hs {
        h.join().unwrap();
    }
    let (mut sum, mut count) = (0, 0);
    for c in cs {
        let (s, n) = c.join().unwrap();
        sum += s;
        count += n;
    }
    let ns = t0.elapsed().as_nanos() as f64 / N as f64;
    assert_eq!(count, N);
    assert_eq!(sum, N * (N - 1) / 2);
    ns
}

fn median(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    (v[v.len() / 2], v[0], v[v.len() - 1])
}

fn report(name: &str, f: impl Fn() -> f64) {
    f(); // warm-up run
    let (m, lo, hi) = median((0..7).map(|_| f()).collect());
    println!("{name:<52} {m:>7.1} ns/msg ({lo:.1}–{hi:.1})");
}

fn main() {
    report("crossbeam bounded(1024), 4 → 4", || {
        run(|| crossbeam_channel::bounded::<u64>(1024), |tx, v| tx.send(v).unwrap(), |rx| rx.iter().fold((0, 0), |(s, n), v| (s + v, n + 1)), 4)
    });
    report("crossbeam unbounded(), 4 → 4", || {
        run(|| crossbeam_channel::unbounded::<u64>(), |tx, v| tx.send(v).unwrap(), |rx| rx.iter().fold((0, 0), |(s, n), v| (s + v, n + 1)), 4)
    });
    // std mpsc has one Receiver: 4 consumers share it behind a Mutex (the Rust book's thread pool, ch. 21).
    fn shared_recv(rx: Arc<Mutex<mpsc::Receiver<u64>>>) -> (u64, u64) {
        let (mut s, mut n) = (0, 0);
        loop {
            let v = rx.lock().unwrap().recv();
            match v {
                Ok(v) => { s += v; n += 1; }
                Err(_) => return (s, n),
            }
        }
    }
    fn shared_recv_sync(rx: Arc<Mutex<mpsc::Receiver<u64>>>) -> (u64, u64) { shared_recv(rx) }
    report("std sync_channel(1024), 4 → 4 (Arc<Mutex<Receiver>>)", || {
        run(|| { let (t, r) = mpsc::sync_channel::<u64>(1024); (t, Arc::new(Mutex::new(r))) }, |tx, v| tx.send(v).unwrap(), shared_recv_sync, 4)
    });
    report("std channel(), 4 → 4 (Arc<Mutex<Receiver>>)", || {
        run(|| { let (t, r) = mpsc::channel::<u64>(); (t, Arc::new(Mutex::new(r))) }, |tx, v| tx.send(v).unwrap(), shared_recv, 4)
    });
    report("std sync_channel(1024), 4 → 1", || {
        run(|| { let (t, r) = mpsc::sync_channel::<u64>(1024); (t, Arc::new(Mutex::new(r))) }, |tx, v| tx.send(v).unwrap(), shared_recv, 1)
    });
    report("std channel(), 4 → 1", || {
        run(|| { let (t, r) = mpsc::channel::<u64>(); (t, Arc::new(Mutex::new(r))) }, |tx, v| tx.send(v).unwrap(), shared_recv, 1)
    });
}
