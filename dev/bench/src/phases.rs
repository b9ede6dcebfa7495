//! The two phases of a run: init (fresh processes, alternating) and main (cold, then
//! warm invocations beside the floor and the bare agent call), and their figures.

use std::path::Path;
use std::time::{Duration, Instant};

use devstack::runtime_api::{Outcome, RuntimeApi};
use devstack::Devstack;
use serde_json::Value;

use crate::agent::BareAgent;
use crate::procs::{spawn, BridgeEnv, Kind, Proc};
use crate::proxy::TimingProxy;
use crate::stats::Samples;
use crate::{progress, Args, Res, READY_TIMEOUT};

const INVOKE_TIMEOUT: Duration = Duration::from_secs(30);

pub struct InitFigures {
    pub floor: ColdStart,
    pub ours: ColdStart,
    /// `--baseline` (today's build with jitter entropy), measured exactly as ours; empty
    /// without it.
    pub baseline: ColdStart,
    pub one_bundle_without_sm: Samples,
}

/// The fresh processes of one binary: init, the Secrets Manager round trip inside it
/// (none for the floor), the first invocation, and init + first invocation summed per
/// process (the cold start a user waits for).
#[derive(Default)]
pub struct ColdStart {
    pub init: Samples,
    pub secrets_manager: Samples,
    pub init_without_sm: Samples,
    pub first_invoke: Samples,
    pub cold_start: Samples,
    pub cold_start_without_sm: Samples,
}

impl ColdStart {
    fn push(&mut self, init: Duration, secrets_manager: Duration, first: Duration) {
        self.init.push(init);
        self.secrets_manager.push(secrets_manager);
        self.init_without_sm
            .push(init.saturating_sub(secrets_manager));
        self.first_invoke.push(first);
        self.cold_start.push(init + first);
        self.cold_start_without_sm
            .push((init + first).saturating_sub(secrets_manager));
    }
}

pub struct MainFigures {
    pub cold: Samples,
    pub warm: Samples,
    pub floor: Samples,
    pub bare_agent: Samples,
    pub overhead: Samples,
    pub cold_okta_calls: u64,
    pub warm_okta_calls: u64,
    pub warm_agent_calls: u64,
    pub bridge_hwm_kb: Option<u64>,
    pub bridge_rss_kb: Option<u64>,
    pub floor_hwm_kb: Option<u64>,
}

pub struct Bench {
    pub args: Args,
    pub stack: Devstack,
    pub env: BridgeEnv,
    pub proxy: TimingProxy,
    pub events: Vec<Value>,
}

impl Bench {
    fn binary(&self, kind: Kind) -> &Path {
        match kind {
            Kind::Bridge | Kind::BridgeOneBundle => &self.args.bridge,
            Kind::Baseline => self.args.baseline.as_deref().unwrap_or(&self.args.bridge),
            Kind::Floor => &self.args.floor,
        }
    }

    /// Start one process of `kind` on a fresh Runtime API and wait for its first poll.
    async fn start(
        &self,
        kind: Kind,
        tag: &str,
    ) -> Res<(RuntimeApi, Proc, Duration, Instant, Instant)> {
        let api = RuntimeApi::start().await?;
        let log = self.args.log_dir.join(format!("{}-{tag}.log", kind.name()));
        let (mut proc, started) = spawn(
            self.binary(kind),
            &[],
            &self.env.env(kind, &api.address()),
            &log,
        )?;
        let ready = api.wait_until_ready(READY_TIMEOUT).await;
        let Some(ready) = ready else {
            let why = match proc.exited() {
                Some(status) => format!("exited ({status})"),
                None => "did not poll /invocation/next within 60 s".into(),
            };
            return Err(format!("{} {why}; its log: {}", kind.name(), proc.log.display()).into());
        };
        if let Some(Outcome::Error { error_type, .. }) = api.init_error() {
            return Err(format!("{} reported an init error {error_type}", kind.name()).into());
        }
        Ok((api, proc, ready - started, started, ready))
    }

    async fn invoke(
        &self,
        api: &RuntimeApi,
        proc: &Proc,
        kind: Kind,
        user: usize,
    ) -> Res<Duration> {
        let started = Instant::now();
        let outcome = api.invoke(&self.events[user], INVOKE_TIMEOUT).await;
        let took = started.elapsed();
        let ok = match (&outcome, kind) {
            (Some(Outcome::Response(v)), Kind::Bridge | Kind::Baseline | Kind::BridgeOneBundle) => {
                v["answer"]
                    .as_str()
                    .is_some_and(|a| a.starts_with("You are signed in as"))
            }
            (Some(Outcome::Response(v)), Kind::Floor) => v["answer"] == "ok",
            _ => false,
        };
        if ok {
            return Ok(took);
        }
        let what = match outcome {
            Some(Outcome::Error { error_type, .. }) => format!("the error {error_type}"),
            Some(Outcome::Response(_)) => "an unexpected answer".into(),
            None => "no answer in time".into(),
        };
        Err(format!(
            "{} gave {what} for user {user}; its log: {}",
            kind.name(),
            proc.log.display()
        )
        .into())
    }

    pub async fn init_phase(&self) -> Res<InitFigures> {
        let runs = self.args.init_runs;
        let baseline = self.args.baseline.is_some();
        progress(&format!(
            "init: {runs} fresh processes of each binary ({}), alternating (plus one discarded each)",
            if baseline {
                "floor, today's build with jitter entropy, ours"
            } else {
                "floor, ours"
            }
        ));
        let mut f = InitFigures {
            floor: ColdStart::default(),
            ours: ColdStart::default(),
            baseline: ColdStart::default(),
            one_bundle_without_sm: Samples::default(),
        };
        for run in 0..=runs {
            let one_bundle = self
                .env
                .one_bundle
                .is_some()
                .then_some(Kind::BridgeOneBundle);
            let base = baseline.then_some(Kind::Baseline);
            // Today's build and ours swap places every run, so neither always follows the
            // other (or the floor) onto warm caches.
            let (a, b) = if run % 2 == 0 {
                (Some(Kind::Bridge), base)
            } else {
                (base, Some(Kind::Bridge))
            };
            for kind in [Some(Kind::Floor), a, b, one_bundle].into_iter().flatten() {
                let (api, proc, init, started, ready) = self.start(kind, "init").await?;
                let first = self
                    .invoke(&api, &proc, kind, run % self.events.len())
                    .await?;
                drop(proc);
                if run == 0 {
                    continue; // page cache and CPU warm-up
                }
                let sm = self.proxy.busy_between(started, ready);
                match kind {
                    Kind::Floor => f.floor.push(init, sm, first),
                    Kind::Bridge => f.ours.push(init, sm, first),
                    Kind::Baseline => f.baseline.push(init, sm, first),
                    Kind::BridgeOneBundle => {
                        f.one_bundle_without_sm.push(init.saturating_sub(sm));
                    }
                }
            }
        }
        Ok(f)
    }

    pub async fn main_phase(&self) -> Res<MainFigures> {
        let users = self.args.users;
        let total = self.args.invocations;
        progress(&format!(
            "main: {total} invocations of xaa-bridge by {users} users (the first per user cold), \
             each followed by one of the floor and, when warm, one bare InvokeAgent"
        ));
        let (bridge_api, bridge, _, _, _) = self.start(Kind::Bridge, "main").await?;
        let (floor_api, floor, _, _, _) = self.start(Kind::Floor, "main").await?;
        let mut bare = BareAgent::new(
            &self.env.settings,
            self.events[users / 2]["id_token"]
                .as_str()
                .unwrap_or_default(),
        )
        .await?;
        let mut f = MainFigures {
            cold: Samples::default(),
            warm: Samples::default(),
            floor: Samples::default(),
            bare_agent: Samples::default(),
            overhead: Samples::default(),
            cold_okta_calls: 0,
            warm_okta_calls: 0,
            warm_agent_calls: 0,
            bridge_hwm_kb: None,
            bridge_rss_kb: None,
            floor_hwm_kb: None,
        };
        let before = self.stack.stats();
        for user in 0..users {
            f.cold.push(
                self.invoke(&bridge_api, &bridge, Kind::Bridge, user)
                    .await?,
            );
            f.floor
                .push(self.invoke(&floor_api, &floor, Kind::Floor, user).await?);
        }
        let after_cold = self.stack.stats();
        f.cold_okta_calls = (after_cold.leg1 + after_cold.leg2) - (before.leg1 + before.leg2);
        progress(&format!(
            "main: {users} cold invocations done; warm ones next"
        ));
        for i in 0..(total - users) {
            let user = i % users;
            let ours = self
                .invoke(&bridge_api, &bridge, Kind::Bridge, user)
                .await?;
            let base = self.invoke(&floor_api, &floor, Kind::Floor, user).await?;
            let agent = bare.call().await?;
            f.warm.push(ours);
            f.floor.push(base);
            f.bare_agent.push(agent);
            let overhead = ours.as_secs_f64() - base.as_secs_f64() - agent.as_secs_f64();
            f.overhead.push_ms(overhead * 1e3);
        }
        let after = self.stack.stats();
        f.warm_okta_calls = (after.leg1 + after.leg2) - (after_cold.leg1 + after_cold.leg2);
        f.warm_agent_calls = (after.invoke_agent - after_cold.invoke_agent)
            .saturating_sub(f.bare_agent.len() as u64);
        f.bridge_hwm_kb = bridge.status_kb("VmHWM");
        f.bridge_rss_kb = bridge.status_kb("VmRSS");
        f.floor_hwm_kb = floor.status_kb("VmHWM");
        drop((bridge_api, floor_api));
        Ok(f)
    }
}
