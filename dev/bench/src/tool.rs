//! The tool job (`--only tool`): the release `xaa-tool` binary (the Bedrock action-group
//! Lambda) run as Lambda runs it, through the Runtime API emulator, against devstack's
//! Okta-protected API on loopback; its warm invocation overhead beside the floor.
//!
//! One access token (devstack's leg 1 + leg 2 for one user) rides in every event's session
//! attributes, so after the first invocation the JWKS is cached and each invocation is:
//! parse the event, verify the token, one `GET /me` on the API, answer. Each measured
//! invocation of the tool is followed by one of the floor (hello_floor, the same event) and
//! one bare `GET /me` straight at the API with the same token (plain HTTP/1, keep-alive):
//! the overhead is `tool - floor - bare API call`, per invocation, p50 and p99.

use std::time::{Duration, Instant};

use devstack::runtime_api::{Outcome, RuntimeApi};
use devstack::{Config, Devstack, IdTokenOptions};
use serde_json::{json, Value};

use crate::args::Args;
use crate::http::{split_url, Http};
use crate::procs::{lambda_env_named, spawn, Proc};
use crate::stats::{mb, met, ms, ratio, thousands, Samples};
use crate::{loadavg, progress, Res, READY_TIMEOUT};

const INVOKE_TIMEOUT: Duration = Duration::from_secs(30);
/// Invocations of each before measuring (the first one of the tool fetches the JWKS).
const WARM_UP: usize = 50;
const FUNCTIONS: &str = r#"{"getMe": {"method": "GET", "path": "/me"}}"#;

pub struct ToolFigures {
    pub tool: Samples,
    pub floor: Samples,
    pub api: Samples,
    pub overhead: Samples,
    /// tool − floor per invocation: the tool's own work, its API call included.
    pub over_floor: Samples,
    pub first: Duration,
    pub api_requests: u64,
    pub tool_hwm_kb: Option<u64>,
    pub floor_hwm_kb: Option<u64>,
    pub load: (String, String),
}

fn event(token: &str) -> Value {
    json!({
        "messageVersion": "1.0",
        "agent": {"name": "tickets-agent", "id": "DEVAGENT01", "alias": "DEVALIAS01", "version": "1"},
        "inputText": "Who am I?",
        "sessionId": "bench-tool-session",
        "actionGroup": "tickets",
        "function": "getMe",
        "parameters": [],
        "sessionAttributes": {"oktaAccessToken": token},
        "promptSessionAttributes": {}
    })
}

async fn start(
    name: &str,
    bin: &std::path::Path,
    extra: &[(String, String)],
    args: &Args,
) -> Res<(RuntimeApi, Proc)> {
    let api = RuntimeApi::start().await?;
    let mut env = lambda_env_named(name, &api.address());
    env.extend(extra.iter().cloned());
    let log = args.log_dir.join(format!("{name}-tool-job.log"));
    let (mut proc, _) = spawn(bin, &[], &env, &log)?;
    if api.wait_until_ready(READY_TIMEOUT).await.is_none() {
        let why = match proc.exited() {
            Some(status) => format!("exited ({status})"),
            None => "did not poll /invocation/next within 60 s".into(),
        };
        return Err(format!("{name} {why}; its log: {}", log.display()).into());
    }
    if let Some(Outcome::Error { error_type, .. }) = api.init_error() {
        return Err(format!(
            "{name} reported an init error {error_type}; its log: {}",
            log.display()
        )
        .into());
    }
    Ok((api, proc))
}

/// One invocation, timed; an error unless the answer is the expected one.
async fn invoke(
    api: &RuntimeApi,
    payload: &Value,
    name: &str,
    ok: &dyn Fn(&Value) -> bool,
) -> Res<Duration> {
    let started = Instant::now();
    let outcome = api.invoke(payload, INVOKE_TIMEOUT).await;
    let took = started.elapsed();
    match outcome {
        Some(Outcome::Response(v)) if ok(&v) => Ok(took),
        Some(Outcome::Response(_)) => Err(format!("{name} gave an unexpected answer").into()),
        Some(Outcome::Error { error_type, .. }) => {
            Err(format!("{name} answered the error {error_type}").into())
        }
        None => Err(format!("{name} did not answer within 30 s").into()),
    }
}

pub async fn run(args: &Args) -> Res<ToolFigures> {
    let load_before = loadavg();
    progress("tool: devstack (Okta, the protected API), one access token through leg 1 + leg 2");
    let stack = Devstack::start(Config::default()).await?;
    let settings = stack.settings();
    let user = settings
        .users
        .first()
        .ok_or("devstack has no user")?
        .clone();
    let id_token = stack.mint_id_token(&user.login, IdTokenOptions::default());
    let issued = crate::agent::access_token(&settings, &id_token).await?;
    let token = issued.token.as_str().to_string();
    let api_url = stack.api_url();
    let tool_env: Vec<(String, String)> = [
        ("TOOL_ISSUER", stack.custom_as_issuer()),
        ("TOOL_AUDIENCE", devstack::ACCESS_TOKEN_AUDIENCE.to_string()),
        ("TOOL_ALLOWED_CLIENTS", settings.agent_client_id.clone()),
        ("TOOL_REQUIRED_SCOPES", settings.okta_scope.clone()),
        ("TOOL_API_BASE_URL", api_url.clone()),
        ("TOOL_FUNCTIONS", FUNCTIONS.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let (tool_api, tool_proc) = start("xaa-tool", &args.tool, &tool_env, args).await?;
    let (floor_api, floor_proc) = start("hello_floor", &args.floor, &[], args).await?;
    let (api_addr, _) = split_url(&api_url)?;
    let mut bare = Http::connect(api_addr).await?;
    let bearer = format!("Bearer {token}");
    let headers = [
        ("authorization", bearer.as_str()),
        ("accept", "application/json"),
    ];

    let payload = event(&token);
    // A success names the person: the tool's TEXT body carries the API's answer.
    let person = user.id.clone();
    let tool_ok = move |v: &Value| {
        let r = &v["response"]["functionResponse"];
        r["responseState"].is_null()
            && r["responseBody"]["TEXT"]["body"]
                .as_str()
                .is_some_and(|b| b.contains(&person))
    };
    let floor_ok = |v: &Value| v["answer"] == "ok";
    let first = invoke(&tool_api, &payload, "xaa-tool", &tool_ok).await?;
    for _ in 0..WARM_UP {
        invoke(&tool_api, &payload, "xaa-tool", &tool_ok).await?;
        invoke(&floor_api, &payload, "hello_floor", &floor_ok).await?;
        bare.get_with("/me", &headers).await?;
    }
    let n = args.tool_invocations;
    progress(&format!(
        "tool: {n} warm invocations of xaa-tool, each followed by the floor and a bare GET /me"
    ));
    let requests_before = stack.stats().api_requests;
    let mut f = ToolFigures {
        tool: Samples::default(),
        floor: Samples::default(),
        api: Samples::default(),
        overhead: Samples::default(),
        over_floor: Samples::default(),
        first,
        api_requests: 0,
        tool_hwm_kb: None,
        floor_hwm_kb: None,
        load: (load_before, String::new()),
    };
    for _ in 0..n {
        let t = invoke(&tool_api, &payload, "xaa-tool", &tool_ok).await?;
        let fl = invoke(&floor_api, &payload, "hello_floor", &floor_ok).await?;
        let started = Instant::now();
        let (status, _) = bare.get_with("/me", &headers).await?;
        let a = started.elapsed();
        if status != 200 {
            return Err(format!("the bare GET /me answered HTTP {status}").into());
        }
        f.tool.push(t);
        f.floor.push(fl);
        f.api.push(a);
        f.over_floor
            .push_ms((t.as_secs_f64() - fl.as_secs_f64()) * 1e3);
        f.overhead
            .push_ms((t.as_secs_f64() - fl.as_secs_f64() - a.as_secs_f64()) * 1e3);
    }
    // The tool's calls plus the bare ones.
    f.api_requests = (stack.stats().api_requests - requests_before).saturating_sub(n as u64);
    f.tool_hwm_kb = tool_proc.status_kb("VmHWM");
    f.floor_hwm_kb = floor_proc.status_kb("VmHWM");
    f.load.1 = loadavg();
    Ok(f)
}

pub fn report(f: &ToolFigures) -> String {
    let n = f.tool.len();
    let mut t = String::from(
        "## The tool Lambda (xaa-tool): warm invocation overhead\n\n\
         | figure | xaa-tool | floor | ratio | target | met? |\n| --- | ---: | ---: | ---: | --- | --- |\n",
    );
    let mut row = |cells: [&str; 6]| t.push_str(&format!("| {} |\n", cells.join(" | ")));
    let (tp50, fp50, tp99, fp99) = (f.tool.p50(), f.floor.p50(), f.tool.p99(), f.floor.p99());
    row([
        &format!(
            "warm invocation p50 ({} invocations, JWKS cached)",
            thousands(n)
        ),
        &ms(tp50),
        &ms(fp50),
        &ratio(tp50, fp50),
        "–",
        "–",
    ]);
    row([
        "warm invocation p99",
        &ms(tp99),
        &ms(fp99),
        &ratio(tp99, fp99),
        "–",
        "–",
    ]);
    row([
        "bare `GET /me` on the API (same token), p50 / p99",
        &format!("{} / {}", ms(f.api.p50()), ms(f.api.p99())),
        "–",
        "–",
        "–",
        "–",
    ]);
    row([
        "tool − floor per invocation (its API call included), p50 / p99",
        &format!("{} / {}", ms(f.over_floor.p50()), ms(f.over_floor.p99())),
        "–",
        "–",
        "–",
        "–",
    ]);
    row([
        "overhead p50 (tool − floor − bare API call, per invocation)",
        &ms(f.overhead.p50()),
        "–",
        "–",
        "–",
        "–",
    ]);
    let p99 = f.overhead.p99();
    row([
        "overhead p99",
        &ms(p99),
        "–",
        "–",
        "< 1 ms",
        &met(p99 < 1.0, || format!("{} over", ms(p99 - 1.0))),
    ]);
    let spread = |s: &Samples| {
        format!(
            "{} / {} / {}",
            ms(s.pct(90.0)),
            ms(s.p99()),
            ms(s.pct(100.0))
        )
    };
    row([
        "p90 / p99 / max",
        &spread(&f.tool),
        &spread(&f.floor),
        "–",
        "–",
        "–",
    ]);
    let slow = |s: &Samples| format!("{}", s.count_over(1.0));
    row([
        "invocations over 1 ms (scheduling shows here: compare with the floor)",
        &slow(&f.tool),
        &slow(&f.floor),
        "–",
        "–",
        "–",
    ]);
    let per = f.api_requests as f64 / n.max(1) as f64;
    row([
        "API calls per invocation",
        &format!("{per:.3}"),
        "–",
        "–",
        "1",
        "–",
    ]);
    row([
        "first invocation (JWKS discovery and fetch)",
        &ms(f.first.as_secs_f64() * 1e3),
        "–",
        "–",
        "–",
        "–",
    ]);
    let kb = |v: Option<u64>| v.map_or("?".to_string(), |kb| mb(kb * 1024));
    row([
        "peak RSS (VmHWM)",
        &kb(f.tool_hwm_kb),
        &kb(f.floor_hwm_kb),
        "–",
        "–",
        "–",
    ]);
    t.push_str(&format!(
        "\nBoth binaries run as Lambda runs them (a Lambda environment, devstack's Runtime API emulator, \
         one invocation at a time); latency is from queueing the event to the function posting its \
         answer. The event is a function-details action-group event (`getMe`, mapped by \
         `TOOL_FUNCTIONS` to `GET /me`) with the access token in `sessionAttributes.oktaAccessToken`; \
         devstack's API checks the token itself (RS256, iss, aud, exp, scope) and answers the person. \
         The bare call is made from the driver's process, which also runs devstack and the \
         emulators, so it can take longer than the tool's own call: an overhead near zero (or \
         below) means the tool's work is within the noise of one loopback round trip. \
         {WARM_UP} discarded rounds first. Load average (1, 5, 15 min) at the start: {}; at the end: {}; \
         2 CPUs shared by the driver, devstack and both functions.\n",
        f.load.0, f.load.1
    ));
    t
}
