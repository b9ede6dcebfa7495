//! Micro-benchmarks of the hot paths, each beside a baseline measured in the same run:
//!
//! | benchmark          | ours                                         | baseline                                  |
//! |--------------------|----------------------------------------------|-------------------------------------------|
//! | assertion          | mint a signed client assertion (RS256)       | one raw RS256 signature, key pre-parsed   |
//! | event              | `Request::from_json` (strict validation)    | serde_json into a plain struct            |
//! | cache_hit          | the whole handler on a warm token cache      | `Request::from_json` alone               |
//! | stream             | draining a 3-chunk answer via the SDK client | decoding the same frames directly         |
//!
//! After criterion's own report, the ratios ours/baseline are printed from its
//! estimates. Figures, never assertions.

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_bedrockagentruntime::Client;
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use bridge::{AgentInvoker, AgentRequest, SdkAgentInvoker};
use bridge::{Bridge, Parts, Request};
use criterion::{criterion_group, Criterion};
use serde_json::json;
use testkit::*;
use xaa::AccessToken;
use xaa::SigningKey;
use xaa::{RandomJti, SystemClock};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn assertion_signing(c: &mut Criterion) {
    let key = SigningKey::from_jwk_json(rfc7520_jwk().to_string().as_bytes(), RFC7520_KID).unwrap();
    let mut group = c.benchmark_group("assertion");
    group.bench_function("ours", |b| {
        b.iter(|| {
            xaa::mint_assertion(
                &key,
                "wlp8agent",
                "https://example.okta.com/oauth2/v1/token",
                &SystemClock,
                &RandomJti,
            )
            .unwrap()
        })
    });
    // The floor: one raw RS256 signature (base64url) with the same, already parsed key:
    // what is left of `ours` is building and encoding the claims.
    let message = [7u8; 300];
    group.bench_function("baseline", |b| b.iter(|| key.sign_raw(&message).unwrap()));
    group.finish();
}

fn event() -> serde_json::Value {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    json!({
        "prompt": "What is on my calendar tomorrow, and can you move the 3pm meeting?",
        "id_token": unsigned_jwt(json!({"iss": "https://example.okta.com", "sub": "00ualice", "aud": "0oaweb", "iat": now, "exp": now + 3600})),
        "session_id": "session-0001",
    })
}

#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct PlainEvent {
    prompt: String,
    id_token: String,
    session_id: Option<String>,
}

fn event_parsing(c: &mut Criterion) {
    let event = event();
    let mut group = c.benchmark_group("event");
    group.bench_function("ours", |b| {
        b.iter(|| Request::from_json(event.clone(), 25_000).unwrap())
    });
    group.bench_function("baseline", |b| {
        b.iter(|| serde_json::from_value::<PlainEvent>(event.clone()).unwrap())
    });
    group.finish();
}

fn cache_hit(c: &mut Criterion) {
    let rt = runtime();
    let okta = FakeOkta::new(vec![
        Ok((200, r#"{"issued_token_type":"urn:ietf:params:oauth:token-type:id-jag","access_token":"jag","token_type":"N_A","expires_in":300}"#.into(), None)),
        Ok((200, access_token_body("at", "00ualice", 3600), None)),
    ]);
    let bridge = Bridge::new(Parts {
        config: test_config(),
        transport: okta.clone(),
        key_source: StaticKeys::new(vec![Ok(rfc7520_jwk().to_string())]),
        agent: EchoAgent::new(),
        clock: Arc::new(SystemClock),
        jti: Arc::new(RandomJti),
    });
    let event = event();
    rt.block_on(ask_json(&bridge, event.clone(), bridge::Deadline::NONE))
        .unwrap();
    let mut group = c.benchmark_group("cache_hit");
    group.bench_function("ours", |b| {
        b.iter(|| {
            rt.block_on(ask_json(&bridge, event.clone(), bridge::Deadline::NONE))
                .unwrap()
        })
    });
    group.bench_function("baseline", |b| {
        b.iter(|| Request::from_json(event.clone(), 25_000).unwrap())
    });
    group.finish();
    assert_eq!(
        okta.sent().len(),
        2,
        "every measured invocation was a cache hit"
    );
}

fn stream_draining(c: &mut Criterion) {
    let rt = runtime();
    let frames = vec![
        chunk(b"You are signed in "),
        chunk(b"as alice"),
        chunk(b"@example.com."),
    ];
    let body = frames.concat();
    let rule = {
        let frames = frames.clone();
        mock!(Client::invoke_agent)
            .sequence()
            .http_response(move || stream_response(&frames))
            .repeatedly()
            .build()
    };
    let client = mock_client!(aws_sdk_bedrockagentruntime, RuleMode::Sequential, &[&rule]);
    let invoker = SdkAgentInvoker::new(client, "AGENT12345", "ALIAS12345");
    let token = AccessToken::new("at");
    let mut group = c.benchmark_group("stream");
    group.bench_function("ours", |b| {
        b.iter(|| {
            rt.block_on(invoker.invoke(AgentRequest {
                session_id: "s1",
                prompt: "hi",
                access_token: &token,
                chunks: None,
            }))
            .unwrap()
        })
    });
    group.bench_function("baseline", |b| {
        b.iter(|| {
            let mut buf = bytes::Bytes::from(body.clone());
            let mut out = Vec::new();
            while !buf.is_empty() {
                let message = aws_smithy_eventstream::frame::read_message_from(&mut buf).unwrap();
                out.extend_from_slice(message.payload());
            }
            out
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = assertion_signing, event_parsing, cache_hit, stream_draining
}

fn mean_ns(group: &str, function: &str) -> Option<f64> {
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("../criterion")
        .join(group)
        .join(function)
        .join("new/estimates.json");
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()?;
    v["mean"]["point_estimate"].as_f64()
}

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    println!(
        "\n{:<12} {:>14} {:>14} {:>8}",
        "benchmark", "ours", "baseline", "ratio"
    );
    for group in ["assertion", "event", "cache_hit", "stream"] {
        if let (Some(ours), Some(base)) = (mean_ns(group, "ours"), mean_ns(group, "baseline")) {
            println!(
                "{group:<12} {:>11.2} µs {:>11.2} µs {:>7.1}x",
                ours / 1e3,
                base / 1e3,
                ours / base
            );
        }
    }
}
