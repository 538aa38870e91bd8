//! Many installations in one process: 10,000 installations × (the installation's token and
//! 10 agent users' tokens) = 110,000 keys in a `MemoryStore`, calls spread over all of them,
//! against the same process serving one key. Each side is a child process of its own, so its
//! resident memory is its own, seeded once; 64 calls in flight, a generated client made per
//! call from `runtime.installation(id)`.
//!
//! Each side first warms up (its resident memory shown each second), then the sides take
//! turns of a few seconds: `one`, `many`, `one`, … Each `many` window's p50 and p99 are
//! compared with the mean of the `one` windows either side of it, so that a ratio compares the
//! sides in the same state of the machine (whose speed drifts, and at times halves for a
//! while); a window whose `one` windows differ by more than 15% in calls a second is left out
//! (the machine changed speed then). The summary gives the medians of the ratios, with the
//! least and the most.
//!
//! Run: `cargo bench -p oauth-runtime --bench installations`. `INSTALLATIONS_WARM` sets the
//! warm-up's seconds (default 8), `INSTALLATIONS_WINDOWS` the windows per side (default 15),
//! `INSTALLATIONS_SECONDS` a window's seconds (default 2), `INSTALLATIONS_TOKEN_CACHE=KEYS`
//! bounds the token cache (default: the runtime's, 100,000 keys). With `--features postgres`
//! and `INSTALLATIONS_POSTGRES=postgres://…` (a server where it may create a database), the
//! many keys are also served from a `PostgresStore`.

use std::time::{Duration, Instant, SystemTime};

use oauth_runtime::{
    IntegrationConfig, MemoryStore, Runtime, TokenKey, TokenRecord, TokenSet, TokenStore, UserId,
};

mod common;
use common::{Bench, MyTicketContext, TOKEN, context, iparams, quick, server, two_workers};

const INSTALLATIONS: usize = 10_000;
const USERS: usize = 10;
const IN_FLIGHT: usize = 64;

fn main() {
    if let Ok(side) = std::env::var("INSTALLATIONS_SIDE") {
        serve_side(&side);
        return;
    }
    let number = |name: &str, default: u64, quick_default: u64| -> u64 {
        match std::env::var(name) {
            Ok(text) => text
                .parse()
                .unwrap_or_else(|_| panic!("{name} is a number")),
            Err(_) if quick() => quick_default,
            Err(_) => default,
        }
    };
    let warm = number("INSTALLATIONS_WARM", 8, 1);
    let windows = number("INSTALLATIONS_WINDOWS", 15, 1) as usize;
    let seconds = number("INSTALLATIONS_SECONDS", 2, 1);
    println!(
        "{INSTALLATIONS} installations × (1 + {USERS} users) = {} keys, against 1 key; \
         {IN_FLIGHT} calls in flight: {warm} s to warm up, then {windows} windows of {seconds} s \
         per side, taking turns",
        INSTALLATIONS * (1 + USERS)
    );
    // With `--features postgres` and INSTALLATIONS_POSTGRES set to a server, a `many` side
    // on a PostgresStore too.
    let mut names = vec!["one", "many"];
    if cfg!(feature = "postgres") && std::env::var_os("INSTALLATIONS_POSTGRES").is_some() {
        names.push("many-postgres");
    }
    let mut sides: Vec<Child> = names.iter().map(|name| Child::start(name)).collect();
    println!(
        "{:<14} {:>11} {:>10} {:>10} {:>10}   RSS while warming up (each second)",
        "side", "RSS seeded", "p50", "p99", "calls/s"
    );
    for side in &mut sides {
        let seeded = side.ask("seeded");
        let warmed = side.ask(&format!("warm {warm}"));
        let (figures, samples) = warmed.rsplit_once(' ').unwrap_or((&warmed, ""));
        let window = Window::parse(figures);
        println!(
            "{:<14} {seeded:>9}Mi {:>8.1}us {:>8.1}us {:>10.0}   {samples} Mi",
            side.name, window.p50, window.p99, window.calls
        );
    }
    // The machine's speed drifts, and at times halves for a while (a shared host): the sides
    // take short turns, and each `many` window is compared with the `one` windows either side
    // of it, so that a ratio compares the sides in the same state of the machine.
    let mut ones = Vec::new();
    let mut manies: Vec<Vec<Window>> = vec![Vec::new(); sides.len() - 1];
    for round in 0..=windows {
        ones.push(Window::parse(&sides[0].ask(&format!("run {seconds}"))));
        if round == windows {
            break;
        }
        for (index, side) in sides.iter_mut().skip(1).enumerate() {
            manies[index].push(Window::parse(&side.ask(&format!("run {seconds}"))));
        }
    }
    println!(
        "\n{:<16} {:>10} {:>10} {:>10} {:>9} {:>7} {:>7}",
        "window", "p50", "p99", "calls/s", "RSS", "p50 ×", "p99 ×"
    );
    for (index, one) in ones.iter().enumerate() {
        println!("{:<16} {}", format!("one {index}"), one.row());
        for (name, windows) in names.iter().skip(1).zip(&manies) {
            if let (Some(many), Some(after)) = (windows.get(index), ones.get(index + 1)) {
                let (p50, p99) = many.against(one, after);
                println!(
                    "{:<16} {} {p50:>6.3}× {p99:>6.3}×",
                    format!("{name} {index}"),
                    many.row()
                );
            }
        }
    }
    for (name, windows) in names.iter().skip(1).zip(&manies) {
        // A window during which the machine changed speed (the `one` windows either side
        // of it differ by more than 15% in calls a second) compares nothing: left out.
        let steady = |ones: &[Window]| {
            let (slower, faster) = (
                ones[0].calls.min(ones[1].calls),
                ones[0].calls.max(ones[1].calls),
            );
            faster <= slower * 1.15
        };
        let ratios: Vec<(f64, f64)> = windows
            .iter()
            .zip(ones.windows(2))
            .filter(|(_, ones)| steady(ones))
            .map(|(many, ones)| many.against(&ones[0], &ones[1]))
            .collect();
        if ratios.is_empty() {
            println!("\n{name}: the machine's speed changed in every window; run again");
            continue;
        }
        let (p50, p99) = (
            Spread::of(ratios.iter().map(|r| r.0).collect()),
            Spread::of(ratios.iter().map(|r| r.1).collect()),
        );
        let (first, last) = (windows[0].rss, windows[windows.len() - 1].rss);
        println!(
            "\n{name} − one, medians of {} windows of {} (least–most; left out: those the \
             machine changed speed in): {:+.1} MiB resident at the end ({:+.1} MiB over the \
             windows); p50 {p50}, p99 {p99}",
            ratios.len(),
            windows.len(),
            last - ones[ones.len() - 1].rss,
            last - first,
        );
    }
}

/// The median of some ratios, with the least and the most.
struct Spread(f64, f64, f64);

impl Spread {
    fn of(mut values: Vec<f64>) -> Spread {
        values.sort_by(f64::total_cmp);
        Spread(
            values[values.len() / 2],
            values[0],
            values[values.len() - 1],
        )
    }
}

impl std::fmt::Display for Spread {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:.3}× ({:.3}–{:.3})", self.0, self.1, self.2)
    }
}

/// One side, in a child process of its own (so that its resident memory is its own), seeded
/// once and then told what to do, one line at a time.
struct Child {
    name: &'static str,
    process: std::process::Child,
    answers: std::io::Lines<std::io::BufReader<std::process::ChildStdout>>,
}

impl Child {
    fn start(name: &'static str) -> Child {
        use std::process::{Command, Stdio};
        let mut process = Command::new(std::env::current_exe().unwrap())
            .env("INSTALLATIONS_SIDE", name)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("the side starts");
        let stdout = process.stdout.take().expect("piped");
        let answers = std::io::BufRead::lines(std::io::BufReader::new(stdout));
        Child {
            name,
            process,
            answers,
        }
    }

    /// Sends `command` and waits for its one-line answer.
    fn ask(&mut self, command: &str) -> String {
        use std::io::Write as _;
        let stdin = self.process.stdin.as_mut().expect("piped");
        writeln!(stdin, "{command}").expect("the side listens");
        match self.answers.next() {
            Some(Ok(line)) => line,
            _ => panic!("{}: no answer to `{command}`", self.name),
        }
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        // Its input closed, the side ends.
        drop(self.process.stdin.take());
        let _ = self.process.wait();
    }
}

/// What one window of calls measured: latencies in µs, calls a second, resident MiB.
#[derive(Clone)]
struct Window {
    p50: f64,
    p99: f64,
    calls: f64,
    rss: f64,
}

impl Window {
    fn parse(line: &str) -> Window {
        let fields: Vec<f64> = line
            .split_whitespace()
            .map(|f| f.parse().unwrap_or(f64::NAN))
            .collect();
        match fields[..] {
            [p50, p99, calls, rss] => Window {
                p50,
                p99,
                calls,
                rss,
            },
            _ => panic!("a window's figures: `{line}`"),
        }
    }

    fn row(&self) -> String {
        format!(
            "{:>8.1}us {:>8.1}us {:>10.0} {:>7.0}Mi",
            self.p50, self.p99, self.calls, self.rss
        )
    }

    /// Its p50 and p99 against the mean of two windows of the other side.
    fn against(&self, before: &Window, after: &Window) -> (f64, f64) {
        (
            self.p50 / ((before.p50 + after.p50) / 2.0),
            self.p99 / ((before.p99 + after.p99) / 2.0),
        )
    }
}

/// Call latencies in buckets 1% apart from 1 µs: a few kilobytes however many calls, so the
/// measuring does not grow the memory being measured.
struct Histogram([u64; 1500]);

impl Default for Histogram {
    fn default() -> Self {
        Histogram([0; 1500])
    }
}

impl Histogram {
    fn record(&mut self, took: Duration) {
        let micros = took.as_secs_f64() * 1e6;
        let bucket = (micros.max(1.0).ln() / 1.01f64.ln()) as usize;
        self.0[bucket.min(self.0.len() - 1)] += 1;
    }

    fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.0.iter_mut().zip(other.0.iter()) {
            *a += b;
        }
    }

    fn count(&self) -> u64 {
        self.0.iter().sum()
    }

    /// The upper bound of the bucket holding the `q` quantile.
    fn quantile(&self, q: f64) -> Duration {
        let target = (self.count() as f64 * q).ceil() as u64;
        let mut seen = 0;
        for (bucket, n) in self.0.iter().enumerate() {
            seen += n;
            if seen >= target.max(1) {
                return Duration::from_secs_f64(1.01f64.powi(bucket as i32 + 1) / 1e6);
            }
        }
        Duration::MAX
    }
}

/// A PostgresStore on a database of its own on the server at INSTALLATIONS_POSTGRES.
#[cfg(feature = "postgres")]
async fn postgres_store() -> oauth_runtime::store::PostgresStore {
    let server = std::env::var("INSTALLATIONS_POSTGRES").expect("INSTALLATIONS_POSTGRES");
    let (admin, connection) = tokio_postgres::connect(&server, tokio_postgres::NoTls)
        .await
        .expect("the PostgreSQL server answers");
    tokio::spawn(connection);
    let name = format!("bench_installations_{}", std::process::id());
    for statement in [
        format!("DROP DATABASE IF EXISTS {name}"),
        format!("CREATE DATABASE {name}"),
    ] {
        admin.batch_execute(&statement).await.unwrap();
    }
    let base = server
        .rsplit_once('/')
        .map_or(server.as_str(), |(base, _)| base);
    oauth_runtime::store::PostgresStore::connect(&format!("{base}/{name}"))
        .await
        .expect("a store")
}

#[cfg(not(feature = "postgres"))]
async fn postgres_store() -> MemoryStore {
    unreachable!("the PostgreSQL side runs with --features postgres only")
}

/// Resident memory, in MiB.
fn resident_mib() -> f64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: f64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0.0);
    pages * 4096.0 / (1024.0 * 1024.0)
}

fn installation(n: usize) -> String {
    format!("account-{n:05}")
}

/// A side's child process: seeds its keys, then answers its parent's commands, one line each:
/// `seeded` (its resident MiB after seeding), `warm N` (as `run N`, then its resident MiB
/// each second) and `run N` (calls for N seconds: p50 and p99 in µs, calls a second,
/// resident MiB). It ends when its input ends.
fn serve_side(side: &str) {
    let runtime = two_workers();
    let (calls, seeded) = runtime.block_on(seed_side(side));
    for command in std::io::stdin().lines() {
        let command = command.expect("the parent's command");
        let seconds = |text: &str| -> u64 { text.trim().parse().expect("seconds") };
        let answer = if command == "seeded" {
            format!("{seeded:.1}")
        } else if let Some(text) = command.strip_prefix("warm ") {
            let (window, samples) = runtime.block_on(calls.clone().run(seconds(text)));
            let shown: Vec<String> = samples.iter().map(|s| format!("{s:.0}")).collect();
            format!("{window} {}", shown.join(","))
        } else if let Some(text) = command.strip_prefix("run ") {
            let (window, _) = runtime.block_on(calls.clone().run(seconds(text)));
            window
        } else {
            panic!("unknown command `{command}`");
        };
        println!("{answer}");
    }
}

/// What a side calls with.
#[derive(Clone)]
struct Calls {
    runtime: Runtime,
    many: bool,
    port: u16,
}

/// Seeds `side`'s keys; returns what its calls need and its resident MiB once seeded.
async fn seed_side(side: &str) -> (Calls, f64) {
    let many = side.starts_with("many");
    let port = server().await;
    let integration = |name: &str| {
        IntegrationConfig::new(
            name,
            &format!("http://127.0.0.1:{port}/token"),
            "client",
            "secret",
        )
        .unwrap()
    };
    let store: std::sync::Arc<dyn TokenStore> = match side {
        "many-postgres" => std::sync::Arc::new(postgres_store().await),
        _ => std::sync::Arc::new(MemoryStore::new()),
    };
    let mut builder = Runtime::builder()
        .shared_store(store.clone())
        .integration(integration("crm"))
        .integration(integration("desk").token_type(oauth_runtime::TokenType::Agent));
    if let Some(keys) = std::env::var("INSTALLATIONS_TOKEN_CACHE")
        .ok()
        .and_then(|k| k.parse().ok())
    {
        builder = builder.token_cache(Duration::from_secs(1800), keys);
    }
    let runtime = builder.build().unwrap();
    let record = TokenRecord::active(
        TokenSet::new(TOKEN)
            .with_refresh_token("refresh")
            .with_expires_at(SystemTime::now() + Duration::from_secs(3600)),
    );
    let installations = if many { INSTALLATIONS } else { 1 };
    // Seeded 32 at a time: a database's round trips would otherwise take minutes.
    let mut seeding = tokio::task::JoinSet::new();
    for part in 0..32 {
        let (store, record) = (store.clone(), record.clone());
        seeding.spawn(async move {
            for n in (part..installations).step_by(32) {
                let id = if many { installation(n) } else { String::new() };
                let account = TokenKey::installation("crm").in_installation(id.as_str());
                store.save(&account, &record, None).await.unwrap();
                if many {
                    for user in 0..USERS {
                        let key = TokenKey::user("desk", UserId::new(format!("user-{user}")))
                            .in_installation(id.as_str());
                        store.save(&key, &record, None).await.unwrap();
                    }
                }
            }
        });
    }
    while let Some(done) = seeding.join_next().await {
        done.unwrap();
    }
    (
        Calls {
            runtime,
            many,
            port,
        },
        resident_mib(),
    )
}

impl Calls {
    /// Calls for `seconds`, IN_FLIGHT at a time: the window's figures as one line, and the
    /// resident MiB sampled each second.
    async fn run(self, seconds: u64) -> (String, Vec<f64>) {
        let deadline = Instant::now() + Duration::from_secs(seconds);
        let sampler = tokio::spawn(async move {
            let mut samples = Vec::new();
            while Instant::now() < deadline {
                tokio::time::sleep(Duration::from_secs(1)).await;
                samples.push(resident_mib());
            }
            samples
        });
        let started = Instant::now();
        let mut workers = tokio::task::JoinSet::new();
        for worker in 0..IN_FLIGHT {
            let calls = self.clone();
            workers.spawn(async move { calls.call_until(deadline, worker).await });
        }
        let mut latencies = Histogram::default();
        while let Some(done) = workers.join_next().await {
            latencies.merge(&done.unwrap());
        }
        let took = started.elapsed();
        let samples = sampler.await.unwrap();
        let line = format!(
            "{:.1} {:.1} {:.0} {:.1}",
            latencies.quantile(0.5).as_secs_f64() * 1e6,
            latencies.quantile(0.99).as_secs_f64() * 1e6,
            latencies.count() as f64 / took.as_secs_f64(),
            resident_mib()
        );
        (line, samples)
    }

    /// One worker's calls until `deadline`, each to a key picked at random.
    async fn call_until(&self, deadline: Instant, worker: usize) -> Histogram {
        let mut latencies = Histogram::default();
        let mut seed = 0x9E37_79B9_7F4A_7C15_u64 ^ (worker as u64 + 1) ^ random_start();
        while Instant::now() < deadline {
            // xorshift: which installation, and the installation's token or a user's.
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let (n, pick) = (
                seed as usize % INSTALLATIONS,
                (seed >> 32) as usize % (USERS + 1),
            );
            let handle = match self.many {
                true => self.runtime.installation(installation(n)),
                false => self.runtime.clone(),
            };
            let client = Bench::new(handle, iparams(self.port));
            let begun = Instant::now();
            let response = if self.many && pick < USERS {
                let user = UserId::new(format!("user-{pick}"));
                let context = MyTicketContext {
                    ticket_id: "12345".into(),
                    include: "requester".into(),
                };
                client.my_ticket(&context, &user).send().await
            } else {
                client.get_ticket(&context()).send().await
            };
            std::hint::black_box(response.expect("answered").into_bytes());
            latencies.record(begun.elapsed());
        }
        latencies
    }
}

/// A different start for each window's random keys.
fn random_start() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}
