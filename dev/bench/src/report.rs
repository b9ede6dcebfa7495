//! The markdown reports: the Lambda figures beside the floor and the targets, then notes
//! on the samples, the load, the cold start (init + first invocation) of today's build
//! against ours when `--baseline` is given, any missed target and the one-time cost of a
//! new process; and the AgentCore front door beside the Python runtime of Okta's guide.

use std::fmt::Write as _;
use std::path::PathBuf;

use crate::agentcore::{AgentCoreFigures, POLL, WARM_UP};
use crate::phases::{ColdStart, InitFigures, MainFigures};
use crate::stats::{mb, met, ms, ratio, thousands, Samples, MB};
use crate::Args;

fn size_of(path: Option<&PathBuf>) -> Option<u64> {
    std::fs::metadata(path?).ok().map(|m| m.len())
}

pub fn report(args: &Args, init: &InitFigures, m: &MainFigures, load: &(String, String)) -> String {
    let mut t = String::new();
    let mut row = |cells: [&str; 6]| {
        let _ = writeln!(t, "| {} |", cells.join(" | "));
    };
    row(["figure", "xaa-bridge", "floor", "ratio", "target", "met?"]);
    row(["---", "---:", "---:", "---:", "---", "---"]);

    // Init.
    let (b, fl) = (init.ours.init.p50(), init.floor.init.p50());
    row([
        &format!(
            "init, spawn to first `/next`, incl. Secrets Manager (p50 of {} runs)",
            init.ours.init.len()
        ),
        &ms(b),
        &ms(fl),
        &ratio(b, fl),
        "–",
        "–",
    ]);
    let sm = init.ours.secrets_manager.p50();
    row([
        "Secrets Manager round trip during init (moto on loopback, p50)",
        &ms(sm),
        "–",
        "–",
        "reported separately",
        "–",
    ]);
    let without = init.ours.init_without_sm.p50();
    let over = without - fl;
    row([
        "init without the Secrets Manager round trip (p50)",
        &ms(without),
        &ms(fl),
        &ratio(without, fl),
        "≤ floor + 15 ms",
        &met(over <= 15.0, || format!("{} over the floor", ms(over))),
    ]);
    let bundle = init.one_bundle_without_sm.p50();
    if init.one_bundle_without_sm.len() > 0 {
        row([
            "… the same with a one-file trust store (`SSL_CERT_FILE` only, as on AL2023)",
            &ms(bundle),
            &ms(fl),
            &ratio(bundle, fl),
            "≤ floor + 15 ms",
            &met(bundle - fl <= 15.0, || {
                format!("{} over the floor", ms(bundle - fl))
            }),
        ]);
    }
    let (bf, ff) = (init.ours.first_invoke.p50(), init.floor.first_invoke.p50());
    row([
        "first invocation of a fresh process (p50)",
        &ms(bf),
        &ms(ff),
        &ratio(bf, ff),
        "–",
        "–",
    ]);
    let (bc, fc) = (init.ours.cold_start.p50(), init.floor.cold_start.p50());
    let (target, verdict) = if args.baseline.is_some() {
        let k = cold_start_ratio(init);
        (
            "≤ 0.5x today's build (table below)",
            met(k <= COLD_START_TARGET, || {
                format!("{} of today's", times_of(k))
            }),
        )
    } else {
        ("–", "–".to_string())
    };
    row([
        "init + first invocation, per fresh process (p50)",
        &ms(bc),
        &ms(fc),
        &ratio(bc, fc),
        target,
        &verdict,
    ]);

    // Latency.
    let cold_per = m.cold_okta_calls as f64 / m.cold.len().max(1) as f64;
    row([
        &format!(
            "cold path p50 ({} users: leg 1 + leg 2 + agent)",
            thousands(m.cold.len())
        ),
        &ms(m.cold.p50()),
        &ms(m.floor.p50()),
        &ratio(m.cold.p50(), m.floor.p50()),
        "–",
        "–",
    ]);
    row([
        "cold path p99",
        &ms(m.cold.p99()),
        &ms(m.floor.p99()),
        &ratio(m.cold.p99(), m.floor.p99()),
        "–",
        "–",
    ]);
    row([
        "Okta token calls per cold invocation",
        &format!("{cold_per:.3}"),
        "–",
        "–",
        "2 (leg 1 + leg 2)",
        "–",
    ]);
    row([
        &format!(
            "warm path p50 ({} invocations, cached token)",
            thousands(m.warm.len())
        ),
        &ms(m.warm.p50()),
        &ms(m.floor.p50()),
        &ratio(m.warm.p50(), m.floor.p50()),
        "–",
        "–",
    ]);
    row([
        "warm path p99",
        &ms(m.warm.p99()),
        &ms(m.floor.p99()),
        &ratio(m.warm.p99(), m.floor.p99()),
        "–",
        "–",
    ]);
    row([
        "bare InvokeAgent on the Bedrock stand-in, p50 / p99",
        &format!("{} / {}", ms(m.bare_agent.p50()), ms(m.bare_agent.p99())),
        "–",
        "–",
        "–",
        "–",
    ]);
    row([
        "warm-path overhead p50 (ours − floor − bare agent, per invocation)",
        &ms(m.overhead.p50()),
        "–",
        "–",
        "–",
        "–",
    ]);
    let p99 = m.overhead.p99();
    row([
        "warm-path overhead p99",
        &ms(p99),
        "–",
        "–",
        "< 1 ms",
        &met(p99 < 1.0, || format!("{} over", ms(p99 - 1.0))),
    ]);
    let warm_calls = m.warm_okta_calls as f64 / m.warm.len().max(1) as f64;
    row([
        "Okta token calls per warm invocation",
        &format!(
            "{warm_calls:.3} ({} in {})",
            m.warm_okta_calls,
            thousands(m.warm.len())
        ),
        "–",
        "–",
        "0",
        &met(m.warm_okta_calls == 0, || {
            format!("{} calls", m.warm_okta_calls)
        }),
    ]);

    // Memory.
    let kb = |v: Option<u64>| v.map(|kb| kb * 1024);
    let (bh, fh) = (kb(m.bridge_hwm_kb), kb(m.floor_hwm_kb));
    row([
        &format!(
            "peak RSS (VmHWM) after {} invocations by {} users",
            thousands(args.invocations),
            thousands(args.users)
        ),
        &bh.map_or("?".into(), mb),
        &fh.map_or("?".into(), mb),
        &match (bh, fh) {
            (Some(b), Some(f)) => ratio(b as f64, f as f64),
            _ => "–".into(),
        },
        "< 32 MB",
        &bh.map_or("?".into(), |b| {
            met((b as f64) < 32.0 * MB, || {
                format!("{} over", mb(b - 32_000_000))
            })
        }),
    ]);

    // Sizes.
    let arm = (
        size_of(args.arm64_bridge.as_ref()),
        size_of(args.arm64_floor.as_ref()),
    );
    match arm {
        (Some(b), floor) => row([
            "stripped arm64 binary (cargo lambda build --release --arm64)",
            &mb(b),
            &floor.map_or("?".into(), mb),
            &floor.map_or("–".into(), |f| ratio(b as f64, f as f64)),
            "< 12 MB",
            &met((b as f64) < 12.0 * MB, || {
                format!("{} over", mb(b - 12_000_000))
            }),
        ]),
        (None, _) => row([
            "stripped arm64 binary",
            &args.arm64_note,
            "–",
            "–",
            "< 12 MB",
            "not measured",
        ]),
    }
    let host = (size_of(Some(&args.bridge)), size_of(Some(&args.floor)));
    if let (Some(b), Some(f)) = host {
        row([
            "host release binary (x86_64, stripped by the release profile)",
            &mb(b),
            &mb(f),
            &ratio(b as f64, f as f64),
            "–",
            "–",
        ]);
    }

    let _ = writeln!(
        t,
        "\nMB = 10^6 bytes. Latencies are from the driver queueing the event on the Runtime API \
         emulator to the function posting its answer. Samples: init {} + {} runs, cold {}, warm {}, \
         floor {}, bare agent {}. Bedrock calls made by xaa-bridge in the warm phase: {} for {} \
         invocations. xaa-bridge RSS at the end: {}.",
        init.ours.init.len(),
        init.floor.init.len(),
        m.cold.len(),
        m.warm.len(),
        m.floor.len(),
        m.bare_agent.len(),
        m.warm_agent_calls,
        m.warm.len(),
        kb(m.bridge_rss_kb).map_or("?".into(), mb),
    );
    let _ = writeln!(
        t,
        "Init spread (min / p50 / max): xaa-bridge {} / {} / {}, floor {} / {} / {}, \
         Secrets Manager {} / {} / {}. Overhead as p99(ours) − p99(floor) − p99(bare agent): {}.",
        ms(init.ours.init.pct(0.0)),
        ms(init.ours.init.p50()),
        ms(init.ours.init.pct(100.0)),
        ms(init.floor.init.pct(0.0)),
        ms(init.floor.init.p50()),
        ms(init.floor.init.pct(100.0)),
        ms(init.ours.secrets_manager.pct(0.0)),
        ms(init.ours.secrets_manager.p50()),
        ms(init.ours.secrets_manager.pct(100.0)),
        ms(m.warm.p99() - m.floor.p99() - m.bare_agent.p99()),
    );
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let _ = writeln!(
        t,
        "Load average (1, 5, 15 min) when the driver started: {}; when it finished: {}; {cpus} CPUs \
         shared by the driver, devstack, moto and the functions.",
        load.0, load.1
    );
    if args.baseline.is_some() {
        let _ = write!(t, "\n{}", cold_start_section(init));
    }

    let mut why = Vec::new();
    if let Some(miss) = cold_start_miss(args, init) {
        why.push(miss);
    }
    if over > 15.0 {
        let bundle_note = if init.one_bundle_without_sm.len() > 0 {
            format!(
                " With the trust store cut to one bundle file it is {} over the floor, so reading \
                 this host's certificate directory accounts for about {}.",
                ms(bundle - fl),
                ms(without - bundle)
            )
        } else {
            String::new()
        };
        why.push(format!(
            "**Init** is {} over the floor without the Secrets Manager round trip (target 15 ms).{bundle_note} \
             Known contributors (profiled with perf and strace): the system trust store is read and \
             parsed twice at start-up, once by reqwest's rustls-platform-verifier and once by the AWS \
             SDK's hyper-rustls (both through rustls-native-certs); building the AWS config and two SDK \
             clients; parsing and checking the RSA key.",
            ms(over)
        ));
    }
    if p99 >= 1.0 {
        why.push(format!(
            "**Warm-path overhead p99** is {} (target < 1 ms); its p50 is {}. The tail is scheduling: \
             {cpus} CPUs run the driver, devstack, both functions and whatever else runs on the machine \
             (load average {} at the start, {} at the end), and each invocation hops between tokio \
             threads of several processes.",
            ms(p99),
            ms(m.overhead.p50()),
            load.0,
            load.1
        ));
    }
    if m.warm_okta_calls > 0 {
        why.push(format!(
            "**Okta calls on the warm path**: {} token calls in {} warm invocations; the token cache missed.",
            m.warm_okta_calls,
            m.warm.len()
        ));
    }
    if let Some(b) = bh.filter(|b| (*b as f64) >= 32.0 * MB) {
        why.push(format!(
            "**Peak RSS** is {} (target < 32 MB); the floor's is {}.",
            mb(b),
            fh.map_or("?".into(), mb)
        ));
    }
    if let Some(b) = arm.0.filter(|b| (*b as f64) >= 12.0 * MB) {
        why.push(format!(
            "**arm64 binary** is {} (target < 12 MB); the floor's is {}.",
            mb(b),
            arm.1.map_or("?".into(), mb)
        ));
    }
    if !why.is_empty() {
        let _ = writeln!(t, "\n### Where a target is missed\n");
        for w in why {
            let _ = writeln!(t, "- {w}");
        }
    }
    let extra = bf - m.cold.p50();
    let _ = writeln!(
        t,
        "\n### One-time cost in a new process\n\n\
         The first invocation of a fresh process takes {} (p50), against {} for a cold invocation \
         (a new user) in a process that has served one: {} {}.",
        ms(bf),
        ms(m.cold.p50()),
        ms(extra.abs()),
        if extra >= 0.0 { "more" } else { "less" }
    );
    let base = init.baseline.first_invoke.p50();
    if args.baseline.is_some() {
        let _ = writeln!(
            t,
            "Today's build takes {} for that first invocation, {} more than ours. The two builds \
             differ only in `AWS_LC_SYS_NO_JITTER_ENTROPY`, that is in whether aws-lc's CPU jitter \
             entropy source is compiled in, so the difference is its one-time collection, paid at \
             the first use of randomness (here most likely the RSA blinding of the first client \
             assertion signature). On loopback everything is plain HTTP, so that lands in the \
             first invocation; in AWS the Secrets Manager call is HTTPS, so its TLS handshake \
             pays it during init instead. Init + first invocation counts it either way.",
            ms(base),
            ms(base - bf)
        );
    } else {
        let _ = writeln!(
            t,
            "Built with aws-lc's CPU jitter entropy (aws-lc-sys's default unless \
             `AWS_LC_SYS_NO_JITTER_ENTROPY=1`), a binary pays a one-time jitter entropy collection \
             at the first use of randomness, tens of ms here: in the first invocation on \
             loopback, in init in AWS (the TLS handshake with Secrets Manager). `--baseline` \
             measures such a build beside this one."
        );
    }
    t
}

/// The target of the cold-start issue: ours at most half of today's build for init plus
/// the first invocation.
const COLD_START_TARGET: f64 = 0.5;

/// The cold-start section on its own (`--only init`): init, first invocation and their
/// sum for the floor, today's build (`--baseline`) and ours, with the target.
pub fn coldstart(args: &Args, init: &InitFigures, load: &(String, String)) -> String {
    let mut t = cold_start_section(init);
    if init.one_bundle_without_sm.len() > 0 {
        let _ = writeln!(
            t,
            "Ours with the trust store cut to one bundle file (`SSL_CERT_FILE` only, as on \
             AL2023): init without the Secrets Manager round trip {} p50, against {} with this \
             host's certificate directory.",
            ms(init.one_bundle_without_sm.p50()),
            ms(init.ours.init_without_sm.p50())
        );
    }
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let _ = writeln!(
        t,
        "\nLoad average (1, 5, 15 min) when the driver started: {}; when it finished: {}; {cpus} \
         CPUs shared by the driver, devstack, moto and the functions.",
        load.0, load.1
    );
    if let Some(miss) = cold_start_miss(args, init) {
        let _ = writeln!(t, "\n- {miss}");
    }
    if args.baseline.is_none() {
        let _ = writeln!(
            t,
            "\nToday's build was not measured (no `--baseline`), so the target is not judged."
        );
    }
    t
}

fn cold_start_ratio(init: &InitFigures) -> f64 {
    init.ours.cold_start.p50() / init.baseline.cold_start.p50()
}

fn cold_start_miss(args: &Args, init: &InitFigures) -> Option<String> {
    args.baseline.as_ref()?;
    let k = cold_start_ratio(init);
    (k.is_nan() || k > COLD_START_TARGET).then(|| {
        format!(
            "**Init + first invocation** is {} of today's build (target ≤ {COLD_START_TARGET}x): \
             ours {}, today's {}, the floor {}.",
            times_of(k),
            ms(init.ours.cold_start.p50()),
            ms(init.baseline.cold_start.p50()),
            ms(init.floor.cold_start.p50())
        )
    })
}

/// `ours / today's` as "0.42x".
fn times_of(k: f64) -> String {
    if k.is_finite() {
        format!("{k:.2}x")
    } else {
        "–".into()
    }
}

fn cold_start_section(init: &InitFigures) -> String {
    let mut t = String::new();
    let (fl, base, ours) = (&init.floor, &init.baseline, &init.ours);
    let measured = base.cold_start.len() > 0;
    let _ = writeln!(
        t,
        "### Cold start: init + first invocation, today's build against ours\n\n\
         Three binaries in the same rotation of fresh processes ({} runs each, after one \
         discarded; today's and ours swap places every run): the floor; today's build, the same \
         xaa-bridge source with aws-lc's CPU jitter entropy (`AWS_LC_SYS_NO_JITTER_ENTROPY=0`); \
         ours, built with `AWS_LC_SYS_NO_JITTER_ENTROPY=1` (aws-lc seeds from the OS). Each \
         process is timed from just before its spawn to its first `/next` (init), then serves one \
         invocation (the event queued to the answer posted); the cold start is their sum, \
         process by process. p50s; ratio = ours / today's.\n",
        ours.cold_start.len()
    );
    let mut row = |cells: [&str; 7]| {
        let _ = writeln!(t, "| {} |", cells.join(" | "));
    };
    row([
        "figure (p50)",
        "floor",
        "today's (jitter entropy)",
        "ours (no jitter)",
        "ours / today's",
        "target",
        "met?",
    ]);
    row(["---", "---:", "---:", "---:", "---:", "---", "---"]);
    let cell = |s: &Samples| {
        if s.len() > 0 {
            ms(s.p50())
        } else {
            "–".into()
        }
    };
    let k = |pick: fn(&ColdStart) -> &Samples| {
        if measured {
            times_of(pick(ours).p50() / pick(base).p50())
        } else {
            "–".into()
        }
    };
    row([
        "init, spawn to first `/next`, incl. Secrets Manager",
        &cell(&fl.init),
        &cell(&base.init),
        &cell(&ours.init),
        &k(|c| &c.init),
        "–",
        "–",
    ]);
    row([
        "… without the Secrets Manager round trip",
        &cell(&fl.init_without_sm),
        &cell(&base.init_without_sm),
        &cell(&ours.init_without_sm),
        &k(|c| &c.init_without_sm),
        "–",
        "–",
    ]);
    row([
        "first invocation",
        &cell(&fl.first_invoke),
        &cell(&base.first_invoke),
        &cell(&ours.first_invoke),
        &k(|c| &c.first_invoke),
        "–",
        "–",
    ]);
    let ratio = cold_start_ratio(init);
    row([
        "**init + first invocation**",
        &cell(&fl.cold_start),
        &cell(&base.cold_start),
        &cell(&ours.cold_start),
        &k(|c| &c.cold_start),
        "≤ 0.5x",
        &if measured {
            met(ratio <= COLD_START_TARGET, || times_of(ratio))
        } else {
            "not measured".into()
        },
    ]);
    row([
        "… without the Secrets Manager round trip",
        &cell(&fl.cold_start_without_sm),
        &cell(&base.cold_start_without_sm),
        &cell(&ours.cold_start_without_sm),
        &k(|c| &c.cold_start_without_sm),
        "–",
        "–",
    ]);
    let spread = |s: &Samples| {
        if s.len() > 0 {
            format!(
                "{} / {} / {}",
                ms(s.pct(0.0)),
                ms(s.p50()),
                ms(s.pct(100.0))
            )
        } else {
            "–".into()
        }
    };
    let _ = writeln!(
        t,
        "\nInit + first invocation, spread (min / p50 / max): floor {}, today's {}, ours {}. \
         Over the floor (p50): today's {}, ours {}. Secrets Manager round trip inside init \
         (moto on loopback, p50): today's {}, ours {}.",
        spread(&fl.cold_start),
        spread(&base.cold_start),
        spread(&ours.cold_start),
        if measured {
            ms(base.cold_start.p50() - fl.cold_start.p50())
        } else {
            "–".into()
        },
        ms(ours.cold_start.p50() - fl.cold_start.p50()),
        cell(&base.secrets_manager),
        cell(&ours.secrets_manager),
    );
    t
}

/// `python / ours` as "12.3x", how many times faster (or smaller) ours is.
fn times(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.1}x")
    } else {
        "–".into()
    }
}

/// The AgentCore section: `xaa-bridge-agentcore` beside the Python runtime of Okta's
/// guide, with the targets of the issue (start-up and warm p50 at least 10x faster, peak
/// RSS at least 4x smaller).
pub fn agentcore(args: &Args, f: &AgentCoreFigures, load: &(String, String)) -> String {
    const FASTER: f64 = 10.0;
    const SMALLER: f64 = 4.0;
    let mut t = String::new();
    let _ = writeln!(
        t,
        "## AgentCore Runtime front door\n\n\
         `xaa-bridge-agentcore` (release build) beside the Python runtime of Okta's guide: \
         `BedrockAgentCoreApp` (PyPI `bedrock-agentcore`) running the guide's handler \
         (`dev/agentcore-parity/app.py`, `MODE=guide`), both started and driven in the same run \
         over plain HTTP on 127.0.0.1. Ours talks to devstack (Okta, Bedrock) and moto (Secrets \
         Manager); the Python handler makes no network call. Ratio = Python / ours.\n"
    );
    let mut row = |cells: [&str; 6]| {
        let _ = writeln!(t, "| {} |", cells.join(" | "));
    };
    row([
        "figure",
        "xaa-bridge-agentcore",
        "Python runtime",
        "ratio",
        "target",
        "met?",
    ]);
    row(["---", "---:", "---:", "---:", "---", "---"]);
    let missed = |k: f64, target: f64| format!("{}, target {target:.0}x", times(k));

    let (so, sp) = (f.start_ours.p50(), f.start_python.p50());
    let start = sp / so;
    row([
        &format!(
            "start-up: spawn to first `GET /ping` 200 (p50 of {} runs)",
            f.start_ours.len()
        ),
        &ms(so),
        &ms(sp),
        &times(start),
        "≥ 10x faster",
        &met(start >= FASTER, || missed(start, FASTER)),
    ]);
    let (wo, wp) = (f.warm_ours.p50(), f.warm_python.p50());
    let warm = wp / wo;
    row([
        &format!(
            "warm `POST /invocations` p50 ({} requests, one user, token cache warm)",
            thousands(f.warm_ours.len())
        ),
        &ms(wo),
        &ms(wp),
        &times(warm),
        "≥ 10x faster",
        &met(warm >= FASTER, || missed(warm, FASTER)),
    ]);
    let (w99o, w99p) = (f.warm_ours.p99(), f.warm_python.p99());
    row([
        "warm `POST /invocations` p99",
        &ms(w99o),
        &ms(w99p),
        &times(w99p / w99o),
        "–",
        "–",
    ]);
    let kb = |v: Option<u64>| v.map(|kb| kb * 1024);
    let (ho, hp) = (kb(f.hwm_ours_kb), kb(f.hwm_python_kb));
    let rss = match (ho, hp) {
        (Some(o), Some(p)) if o > 0 => Some(p as f64 / o as f64),
        _ => None,
    };
    row([
        &format!(
            "peak RSS (VmHWM) after {} requests by {} users",
            thousands(args.invocations),
            thousands(args.users)
        ),
        &ho.map_or("?".into(), mb),
        &hp.map_or("?".into(), mb),
        &rss.map_or("–".into(), times),
        "≥ 4x smaller",
        &rss.map_or("not measured".into(), |k| {
            met(k >= SMALLER, || missed(k, SMALLER))
        }),
    ]);

    let _ = writeln!(
        t,
        "\nMB = 10^6 bytes. **The comparison is conservative for ours.** Every warm request of \
         ours still makes a real `InvokeAgent` call to the Bedrock stand-in over loopback (SigV4, \
         the stand-in verifies the access token and streams the answer in event-stream frames, \
         on the same CPUs): a bare `InvokeAgent` beside each request took {} p50 / {} p99, and \
         ours minus it is {} p50. The guide's handler, as run here, replaces its two Okta \
         exchanges and `invoke_agent` with fixed results (it still signs its two client \
         assertions and builds a boto3 client per request, as the guide does); with them it \
         would add two Okta round trips and an agent call to every request, having no token \
         cache, where ours makes {} Okta calls in {} warm requests ({} `InvokeAgent` calls).",
        ms(f.bare_agent.p50()),
        ms(f.bare_agent.p99()),
        ms(f.ours_without_agent.p50()),
        f.warm_okta_calls,
        thousands(f.warm_ours.len()),
        thousands(f.warm_agent_calls as usize),
    );
    let _ = writeln!(
        t,
        "\n- **start-up**: from just before the spawn to the first `GET /ping` answering 200, \
         tried every {} ms on a fresh connection; each runtime told its port (`BIND_ADDR`; \
         `HOST`/`PORT`); {} fresh processes of each, alternating, after one discarded run each. \
         Spread (min / p50 / max): ours {} / {} / {}, Python {} / {} / {}. Ours loads the agent \
         key from Secrets Manager before it listens (moto on loopback: {} p50 of that); \
         Python's includes importing boto3 and the framework, and `app.py` generating an \
         RSA-2048 key (the guide reads a JWK from its environment instead).",
        POLL.as_millis(),
        f.start_ours.len(),
        ms(f.start_ours.pct(0.0)),
        ms(so),
        ms(f.start_ours.pct(100.0)),
        ms(f.start_python.pct(0.0)),
        ms(sp),
        ms(f.start_python.pct(100.0)),
        ms(f.start_secrets_manager.p50()),
    );
    let _ = writeln!(
        t,
        "- **warm latency**: one process of each and one user; one cold request and {WARM_UP} \
         discarded ones, then {} of each, alternating with each other and with the bare \
         `InvokeAgent`, one keep-alive connection per server; from sending the request to \
         having read the whole answer.",
        thousands(f.warm_ours.len()),
    );
    let _ = writeln!(
        t,
        "- **peak RSS**: fresh processes of each; {} requests of each, alternating, cycling over \
         {} distinct ID tokens minted by devstack (the first round cold for ours: {} Okta calls \
         in all), in {:.0} s; then `VmHWM` from `/proc/<pid>/status` (`VmRSS` at the end: ours \
         {}, Python {}). Latency over all of these requests, p50 / p99: ours {} / {}, Python \
         {} / {}.",
        thousands(f.load_ours.len()),
        thousands(args.users),
        thousands(f.load_okta_calls as usize),
        f.load_secs,
        kb(f.rss_ours_kb).map_or("?".into(), mb),
        kb(f.rss_python_kb).map_or("?".into(), mb),
        ms(f.load_ours.p50()),
        ms(f.load_ours.p99()),
        ms(f.load_python.p50()),
        ms(f.load_python.p99()),
    );
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let _ = writeln!(
        t,
        "- **load**: load average (1, 5, 15 min) {} when this phase started, {} when it \
         finished; {cpus} CPUs shared by the driver, devstack, moto and both runtimes.",
        load.0, load.1
    );
    let mut why = Vec::new();
    if start < FASTER {
        why.push(format!(
            "**Start-up** is {} faster than the Python runtime (target {FASTER:.0}x): ours {}, of \
             which {} is the Secrets Manager round trip.",
            times(start),
            ms(so),
            ms(f.start_secrets_manager.p50())
        ));
    }
    if warm < FASTER {
        let own = f.ours_without_agent.p50();
        why.push(format!(
            "**Warm p50** is {} faster (target {FASTER:.0}x): ours {}, of which the Bedrock \
             stand-in's own answer is about {} (bare `InvokeAgent`), a call the Python handler \
             does not make. Without it ours is {} p50, {} faster than Python.",
            times(warm),
            ms(wo),
            ms(f.bare_agent.p50()),
            ms(own),
            times(wp / own)
        ));
    }
    if let Some(k) = rss.filter(|k| *k < SMALLER) {
        why.push(format!(
            "**Peak RSS** is {} smaller (target {SMALLER:.0}x): ours {}, Python {}.",
            times(k),
            ho.map_or("?".into(), mb),
            hp.map_or("?".into(), mb)
        ));
    }
    if !why.is_empty() {
        let _ = writeln!(t, "\n### Where an AgentCore target is missed\n");
        for w in why {
            let _ = writeln!(t, "- {w}");
        }
    }
    t
}
