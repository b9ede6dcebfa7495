//! `xaa-bridge-agentcore`: the bridge as an Amazon Bedrock AgentCore Runtime service.
//!
//! It serves AgentCore's container contract (`POST /invocations`, `GET /ping`) on
//! `0.0.0.0:8080` (or `BIND_ADDR`), with the same environment variables as the Lambda,
//! so a user of Okta's AgentCore guide can drop it in for the Python runtime.
//!
//! Modules: `service` (routes, the error-kind to status mapping), `sse` (streamed
//! answers), `session` (AgentCore session header to a Bedrock session id), `health`
//! (`/ping`), `inbound` (optional JWT check with AgentCore's authorizer semantics).

mod health;
mod inbound;
mod service;
mod session;
mod sse;

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use bridge::{logging, Bridge};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;

use crate::health::Health;
use crate::inbound::{Inbound, InboundConfig};
use crate::service::App;

/// Server settings beyond the bridge's own, each error naming its variable.
struct Settings {
    bind: SocketAddr,
    request_timeout: Duration,
    shutdown_grace: Duration,
}

fn settings(get: impl Fn(&str) -> Option<String>) -> Result<Settings, String> {
    let bind = match get("BIND_ADDR").filter(|v| !v.trim().is_empty()) {
        None => SocketAddr::from(([0, 0, 0, 0], 8080)),
        Some(v) => v.trim().parse().map_err(|_| {
            "BIND_ADDR: must be an address and port such as 0.0.0.0:8080".to_string()
        })?,
    };
    let millis = |var: &str, default: u64, min: u64, max: u64| -> Result<Duration, String> {
        match get(var).filter(|v| !v.trim().is_empty()) {
            None => Ok(Duration::from_millis(default)),
            Some(v) => match v.trim().parse::<u64>() {
                Ok(n) if (min..=max).contains(&n) => Ok(Duration::from_millis(n)),
                _ => Err(format!(
                    "{var}: must be a whole number of milliseconds from {min} to {max}"
                )),
            },
        }
    };
    Ok(Settings {
        bind,
        // AgentCore keeps a synchronous request open for up to 15 minutes; 60 s suits
        // an interactive agent and is what a caller would wait for.
        request_timeout: millis("REQUEST_TIMEOUT_MS", 60_000, 1_000, 900_000)?,
        shutdown_grace: millis("SHUTDOWN_GRACE_MS", 10_000, 0, 120_000)?,
    })
}

#[tokio::main]
async fn main() -> ExitCode {
    logging::init();
    let env = |name: &str| std::env::var(name).ok();
    // Configuration errors stop the process: a server that answers /ping while every
    // invocation fails would hide the problem behind a healthy status.
    let fail = |message: String| {
        tracing::error!(error_type = "ConfigError", "start-up failed: {message}");
        eprintln!("xaa-bridge-agentcore: {message}");
        ExitCode::from(2)
    };
    let settings = match settings(env) {
        Ok(s) => s,
        Err(m) => return fail(m),
    };
    let inbound =
        match InboundConfig::from_lookup(env).and_then(|c| c.map(Inbound::new).transpose()) {
            Ok(inbound) => inbound,
            Err(m) => return fail(m),
        };
    let bridge = match Bridge::from_env().await {
        Ok(bridge) => bridge,
        Err(e) => return fail(e.to_string()),
    };
    bridge.warm_up().await;
    let listener = match TcpListener::bind(settings.bind).await {
        Ok(l) => l,
        Err(e) => {
            return fail(format!(
                "BIND_ADDR: cannot listen on {}: {e}",
                settings.bind
            ))
        }
    };
    let bound = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    tracing::info!(addr = %bound, inbound_jwt = inbound.is_some(), "listening");
    let app = Arc::new(App {
        bridge,
        health: Health::new(),
        inbound,
        request_timeout: settings.request_timeout,
    });
    serve(listener, app, settings.shutdown_grace).await;
    ExitCode::SUCCESS
}

/// Accept until SIGTERM (or Ctrl-C), then stop accepting, let in-flight requests finish
/// for at most `grace`, and return.
async fn serve(listener: TcpListener, app: Arc<App>, grace: Duration) {
    let graceful = GracefulShutdown::new();
    let mut stop = std::pin::pin!(stop_signal());
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let app = app.clone();
                let service = service_fn(move |request| app.clone().serve(request));
                let connection = http1::Builder::new()
                    .timer(hyper_util::rt::TokioTimer::new())
                    .header_read_timeout(Duration::from_secs(30))
                    .serve_connection(TokioIo::new(stream), service);
                let watched = graceful.watch(connection);
                tokio::spawn(async move {
                    let _ = watched.await;
                });
            }
            _ = &mut stop => break,
        }
    }
    drop(listener);
    tracing::info!(
        in_flight = app.health.in_flight(),
        "stopping: no new connections; finishing in-flight requests"
    );
    match tokio::time::timeout(grace, graceful.shutdown()).await {
        Ok(()) => tracing::info!("stopped"),
        Err(_) => tracing::warn!(
            in_flight = app.health.in_flight(),
            "stopped with requests still running after the grace period"
        ),
    }
}

async fn stop_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_settings_default_to_agentcore_and_name_the_variable_when_wrong() {
        let s = settings(|_| None).unwrap();
        assert_eq!(s.bind, "0.0.0.0:8080".parse().unwrap());
        assert_eq!(s.request_timeout, Duration::from_secs(60));
        let s = settings(|k| (k == "BIND_ADDR").then(|| "127.0.0.1:0".into())).unwrap();
        assert_eq!(s.bind.port(), 0);
        for (var, value) in [
            ("BIND_ADDR", "localhost"),
            ("REQUEST_TIMEOUT_MS", "10"),
            ("REQUEST_TIMEOUT_MS", "abc"),
            ("SHUTDOWN_GRACE_MS", "-1"),
        ] {
            let err = settings(|k| (k == var).then(|| value.to_string()))
                .err()
                .unwrap();
            assert!(err.starts_with(var), "{err}");
        }
    }
}
