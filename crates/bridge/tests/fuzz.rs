//! Fuzzing on stable Rust: hostile input to every parser the bridge core runs on an
//! upstream's or a caller's bytes, as property tests (proptest).
//!
//! Each target asserts that no input panics, that every refusal is the documented typed
//! error, and that no refusal message carries the input's secret-looking parts. The
//! number of inputs per target is `FUZZ_CASES` (a few thousand by default, so `cargo
//! test` stays fast; `make fuzz` runs a million each in release). `FUZZ_SEED` (a
//! number) replays a run; each target prints the seed it used.
//!
//! Targets: the event parser (`Request::from_json`, `from_json_and_bearer`), the ID
//! token pre-check, and the Bedrock answer-stream drain behind `SdkAgentInvoker`.

use std::sync::{Arc, Mutex};

use aws_sdk_bedrockagentruntime::config::retry::RetryConfig;
use aws_sdk_bedrockagentruntime::Client;
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use bridge::{AgentError, AgentInvoker, AgentRequest, Error, Request, SdkAgentInvoker};
use fuzzkit::{fuzz, no_leak, worth_checking, CANARY};
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::{Map, Value};

// ---------------------------------------------------------------------------------
// The runner (N inputs, a seed to replay, one summary line) is `fuzzkit`.

/// Every string value (not key) in `value` that is worth checking for leaks and is not
/// part of a key (keys are echoed when they are plain identifiers, by design).
fn string_values(value: &Value, keys: &mut Vec<String>, out: &mut Vec<String>) {
    match value {
        Value::String(s) if worth_checking(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| string_values(v, keys, out)),
        Value::Object(map) => {
            for (k, v) in map {
                keys.push(k.clone());
                string_values(v, keys, out);
            }
        }
        _ => {}
    }
}

fn secrets_of(value: &Value, extra: Option<&str>) -> Vec<String> {
    let (mut keys, mut out) = (Vec::new(), Vec::new());
    string_values(value, &mut keys, &mut out);
    out.extend(extra.filter(|s| worth_checking(s)).map(str::to_string));
    out.retain(|s| !keys.iter().any(|k| k.contains(s.as_str())));
    out
}

// ---------------------------------------------------------------------------------
// Generators (a copy of these lives in crates/xaa/tests/fuzz.rs: the two crates'
// tests share no code but testkit, and testkit does not depend on proptest).

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => any::<String>(),
        3 => "[a-zA-Z0-9_.:-]{0,24}",
        2 => vec(any::<char>(), 0..24).prop_map(String::from_iter),
        1 => "[ \t\r\n\u{a0}\u{3000}]{0,4}",
        1 => ("[ -~]{0,8}", "[a-zA-Z0-9_-]{0,8}")
            .prop_map(|(a, b)| format!("{a}{CANARY}{b}")),
        // Huge: a character repeated up to 64 Ki times.
        1 => (any::<char>(), 0usize..65_536).prop_map(|(c, n)| c.to_string().repeat(n)),
    ]
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("prompt".to_string()),
        Just("id_token".to_string()),
        Just("session_id".to_string()),
        "[a-z_]{1,12}",
        any::<String>(),
    ]
}

fn json() -> impl Strategy<Value = Value> {
    fuzzkit::json_value(key, text())
}

/// Strings shaped like a JWT, and near misses: wrong part counts, a stray character,
/// empty parts, over 16 KiB.
fn jwt_like() -> impl Strategy<Value = String> {
    let part = prop_oneof![
        12 => "[A-Za-z0-9_-]{1,40}",
        1 => Just(String::new()),
        1 => "[A-Za-z0-9_-]{0,20}[^A-Za-z0-9_-][A-Za-z0-9_-]{0,20}",
        1 => Just(format!("eyJ{CANARY}")),
        1 => (0usize..20_000).prop_map(|n| "A".repeat(n)),
    ];
    prop_oneof![
        4 => (part.clone(), part.clone(), part.clone())
            .prop_map(|(a, b, c)| format!("eyJhbGciOiJSUzI1NiJ9{a}.{b}.{c}")),
        1 => vec(part, 0..6).prop_map(|parts| parts.join(".")),
        1 => text(),
    ]
}

fn session_id() -> impl Strategy<Value = String> {
    prop_oneof!["[0-9a-zA-Z._:-]{0,110}", text(),]
}

fn prompt() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => text(),
        1 => "[ \t\n]{0,3}",
        1 => (0usize..400).prop_map(|n| "é".repeat(n)),
    ]
}

/// A field: usually a string of the right shape, sometimes any JSON value at all.
fn field(good: impl Strategy<Value = String>) -> impl Strategy<Value = Value> {
    prop_oneof![4 => good.prop_map(Value::String), 1 => json()]
}

#[derive(Debug, Clone)]
enum Bearer {
    None,
    SameAsBody,
    Other(String),
}

fn event() -> impl Strategy<Value = (Value, Bearer, usize)> {
    let object = (
        option::weighted(0.9, field(prompt())),
        option::weighted(0.9, field(jwt_like())),
        option::of(field(session_id())),
        prop_oneof![3 => Just(Vec::new()), 1 => vec((key(), json()), 1..3)],
    )
        .prop_map(|(prompt, id_token, session_id, extra)| {
            let mut map = Map::new();
            for (k, v) in extra {
                map.insert(k, v);
            }
            for (k, v) in [
                ("prompt", prompt),
                ("id_token", id_token),
                ("session_id", session_id),
            ] {
                if let Some(v) = v {
                    map.insert(k.to_string(), v);
                }
            }
            Value::Object(map)
        });
    let bearer = prop_oneof![
        2 => Just(Bearer::None),
        1 => Just(Bearer::SameAsBody),
        1 => jwt_like().prop_map(Bearer::Other),
        1 => Just(Bearer::Other(String::new())),
    ];
    let max = prop_oneof![0usize..300, Just(4000), Just(usize::MAX)];
    (prop_oneof![4 => object, 1 => json()], bearer, max)
}

// ---------------------------------------------------------------------------------
// 1. The event parser.

fn check_event(event: Value, bearer: Bearer, max: usize) -> Result<bool, TestCaseError> {
    let bearer = match bearer {
        Bearer::None => None,
        Bearer::SameAsBody => Some(
            event
                .get("id_token")
                .and_then(Value::as_str)
                .unwrap_or("a.b.c")
                .to_string(),
        ),
        Bearer::Other(s) => Some(s),
    };
    let secrets = secrets_of(&event, bearer.as_deref());
    let result = Request::from_json_and_bearer(event.clone(), bearer.clone(), max);
    if bearer.is_none() {
        // from_json is the same parser without a header: it must agree exactly.
        let plain = Request::from_json(event.clone(), max);
        prop_assert_eq!(
            plain.as_ref().map_err(ToString::to_string).err(),
            result.as_ref().map_err(ToString::to_string).err()
        );
    }
    let accepted = result.is_ok();
    match result {
        Ok(request) => {
            prop_assert_eq!(
                Some(request.prompt.as_str()),
                event.get("prompt").and_then(Value::as_str)
            );
            prop_assert!(!request.prompt.trim().is_empty());
            prop_assert!(request.prompt.chars().count() <= max);
            let token = request.id_token.expose();
            prop_assert!(token.len() <= bridge::MAX_ID_TOKEN_BYTES);
            prop_assert_eq!(token.split('.').count(), 3);
            match (event.get("id_token").and_then(Value::as_str), &bearer) {
                (Some(body), _) => prop_assert_eq!(body, token),
                (None, Some(header)) => prop_assert_eq!(header.as_str(), token),
                (None, None) => prop_assert!(false, "a token from nowhere"),
            }
            if let Some(id) = &request.session_id {
                prop_assert!(bridge::is_valid_session_id(id));
            }
            // The person's words and the token never show in Debug (the session id,
            // which does, is not a secret).
            let shown = format!("{request:?}");
            let session = request.session_id.as_deref().unwrap_or_default();
            for hidden in [token, request.prompt.as_str()] {
                if worth_checking(hidden) && !session.contains(hidden) {
                    prop_assert!(!shown.contains(hidden), "Debug shows {hidden:?}: {shown}");
                }
            }
        }
        Err(Error::InvalidRequest(message)) => {
            prop_assert!(!message.is_empty());
            no_leak(&message, &secrets)?;
        }
        Err(other) => prop_assert!(false, "undocumented refusal {}: {other}", other.kind()),
    }
    Ok(accepted)
}

#[test]
fn fuzz_event_parser() {
    fuzz("event-parser", 3_000, event(), |(event, bearer, max)| {
        check_event(event, bearer, max)
    });
}

// ---------------------------------------------------------------------------------
// 2. The ID token pre-check (unverified claims: exp, nbf, iat, sub).

/// Claim values, as JSON text: serde's numbers and also literals serde cannot hold
/// (beyond u64, beyond f64), strings of digits, and anything else.
fn claim_literal() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => any::<u64>().prop_map(|n| n.to_string()),
        2 => (1_600_000_000u64..1_900_000_000).prop_map(|n| n.to_string()),
        1 => prop::sample::select(vec![
            "18446744073709551615", "18446744073709551616", "-1", "-0", "0", "1.0", "1e400",
            "-1e400", "1e19", "99999999999999999999999999999", "null", "true", "\"1700000000\"",
        ])
        .prop_map(str::to_string),
        1 => "-?[0-9]{1,40}(\\.[0-9]{1,5})?(e[+-]?[0-9]{1,4})?",
        1 => any::<i64>().prop_map(|n| n.to_string()),
        1 => any::<f64>().prop_map(|f| Value::from(f).to_string()),
        1 => json().prop_map(|v| v.to_string()),
    ]
}

fn id_token() -> impl Strategy<Value = String> {
    let header = prop_oneof![
        8 => Just(r#"{"alg":"RS256","kid":"k"}"#.to_string()),
        1 => json().prop_map(|v| v.to_string()),
        1 => any::<String>(),
    ];
    let claims = (
        option::weighted(0.9, claim_literal()),
        option::weighted(0.3, claim_literal()),
        option::weighted(0.3, claim_literal()),
        option::of(field(prompt())),
        vec(("[a-z]{1,6}", json()), 0..3),
    )
        .prop_map(|(exp, nbf, iat, sub, extra)| {
            let mut members: Vec<String> = extra
                .into_iter()
                .map(|(k, v)| format!("{}:{v}", Value::from(k)))
                .collect();
            for (name, literal) in [("exp", exp), ("nbf", nbf), ("iat", iat)] {
                if let Some(literal) = literal {
                    members.push(format!("\"{name}\":{literal}"));
                }
            }
            if let Some(sub) = sub {
                members.push(format!("\"sub\":{sub}"));
            }
            format!("{{{}}}", members.join(","))
        });
    let structured = (
        header,
        prop_oneof![4 => claims, 1 => any::<String>()],
        jwt_like(),
    )
        .prop_map(|(h, c, sig)| {
            format!(
                "{}.{}.{}",
                URL_SAFE_NO_PAD.encode(h),
                URL_SAFE_NO_PAD.encode(c),
                sig.replace('.', "")
            )
        });
    prop_oneof![8 => structured, 1 => jwt_like()]
}

fn now() -> impl Strategy<Value = u64> {
    prop_oneof![
        3 => 1_600_000_000u64..1_900_000_000,
        1 => any::<u64>(),
        1 => prop::sample::select(vec![0, 59, 60, 61, u64::MAX - 60, u64::MAX]),
    ]
}

fn check_precheck(token: String, now: u64) -> Result<bool, TestCaseError> {
    let claims = xaa::unverified_claims(&token);
    let number = |name: &str| {
        claims
            .as_ref()
            .and_then(|c| c.get(name))
            .and_then(Value::as_u64)
    };
    let result = Request::precheck_for_fuzzing(&token, now);
    let accepted = result.is_ok();
    match result {
        Ok(()) => {
            // Accepted means: a whole-number exp not yet past, and no nbf/iat ahead.
            let exp = number("exp");
            prop_assert!(exp.is_some_and(|e| e.saturating_add(bridge::CLOCK_LEEWAY_SECS) > now));
            for claim in ["nbf", "iat"] {
                prop_assert!(number(claim)
                    .is_none_or(|t| t <= now.saturating_add(bridge::CLOCK_LEEWAY_SECS)));
            }
        }
        Err(error @ (Error::InvalidRequest(_) | Error::IdTokenPrecheck(_))) => {
            let message = error.to_string();
            let mut secrets: Vec<String> = Some(token.clone())
                .filter(|t| worth_checking(t))
                .into_iter()
                .collect();
            if let Some(claims) = &claims {
                secrets.extend(secrets_of(&Value::Object(claims.clone()), None));
            }
            no_leak(&message, &secrets)?;
            if let (Error::IdTokenPrecheck(m), Some(exp)) = (&error, number("exp")) {
                if exp.saturating_add(bridge::CLOCK_LEEWAY_SECS) <= now {
                    prop_assert_eq!(m, &format!("it expired {} s ago", now - exp));
                }
            }
        }
        Err(other) => prop_assert!(false, "undocumented refusal {}: {other}", other.kind()),
    }
    Ok(accepted)
}

#[test]
fn fuzz_id_token_precheck() {
    fuzz(
        "id-token-precheck",
        3_000,
        (prop_oneof![8 => id_token(), 1 => any::<String>()], now()),
        |(token, now)| check_precheck(token, now),
    );
}

// ---------------------------------------------------------------------------------
// 3. The Bedrock answer stream, through the real SDK client and our drain.

const ACCESS_TOKEN: &str = "access-token-S3CR3T-for-alice";
const TRACE: &str = r#"{"agentId":"AGENT12345","sessionId":"session-1","trace":{"orchestrationTrace":{"rationale":{"traceId":"t-1","text":"thinking"}}}}"#;
const EXCEPTIONS: &[&str] = &[
    "throttlingException",
    "serviceQuotaExceededException",
    "accessDeniedException",
    "resourceNotFoundException",
    "validationException",
    "dependencyFailedException",
    "badGatewayException",
    "internalServerException",
    "conflictException",
    "modelNotReadyException",
];

#[derive(Debug, Clone)]
enum FrameSpec {
    /// An answer piece: arbitrary bytes (invalid UTF-8 and split characters included).
    Chunk(Vec<u8>),
    /// A trace, files or an unknown future event, well formed.
    Skipped(&'static str),
    ReturnControl,
    /// A documented exception (by index) or any name at all.
    Exception(Result<usize, String>),
    /// An event with a known or any type and any payload.
    Event(String, String),
    /// Any headers (names and values from the protocol's own, or anything), any payload.
    Raw(Vec<(String, String)>, Vec<u8>),
    /// Bytes that are not a frame at all.
    Garbage(Vec<u8>),
}

impl FrameSpec {
    fn bytes(&self) -> Vec<u8> {
        match self {
            FrameSpec::Chunk(b) => testkit::chunk(b),
            FrameSpec::Skipped("trace") => testkit::event("trace", TRACE),
            FrameSpec::Skipped(t) => testkit::event(t, "{}"),
            FrameSpec::ReturnControl => testkit::event(
                "returnControl",
                r#"{"invocationId":"1","invocationInputs":[]}"#,
            ),
            FrameSpec::Exception(Ok(i)) => testkit::exception(EXCEPTIONS[*i]),
            FrameSpec::Exception(Err(name)) => testkit::exception(name),
            FrameSpec::Event(t, payload) => testkit::event(t, payload),
            FrameSpec::Raw(headers, payload) => {
                let headers: Vec<(&str, &str)> = headers
                    .iter()
                    .map(|(n, v)| (n.as_str(), v.as_str()))
                    .collect();
                testkit::frame(&headers, payload)
            }
            FrameSpec::Garbage(b) => b.clone(),
        }
    }

    /// What the drain must make of it, for frames whose meaning is fixed.
    fn model(&self) -> Option<Model> {
        Some(match self {
            FrameSpec::Chunk(b) => Model::Text(b.clone()),
            FrameSpec::Skipped(_) => Model::Skip,
            FrameSpec::ReturnControl => Model::Fail("AgentFailed"),
            FrameSpec::Exception(Ok(i)) => Model::Fail(match EXCEPTIONS[*i] {
                "throttlingException" | "serviceQuotaExceededException" => "AgentThrottled",
                "accessDeniedException" => "AgentAccessDenied",
                "resourceNotFoundException" => "AgentNotFound",
                _ => "AgentFailed",
            }),
            _ => return None,
        })
    }
}

enum Model {
    Text(Vec<u8>),
    Skip,
    Fail(&'static str),
}

/// A byte-level mutation of the whole body (positions are taken modulo its length).
#[derive(Debug, Clone)]
enum Mutation {
    FlipBit(usize, u8),
    SetByte(usize, u8),
    Truncate(usize),
    Insert(usize, Vec<u8>),
    Delete(usize, usize),
    /// Copy a stretch of the body to another place (a frame twice, half a frame).
    Splice(usize, usize, usize),
}

fn apply(body: &mut Vec<u8>, m: &Mutation) {
    if body.is_empty() {
        if let Mutation::Insert(_, bytes) = m {
            body.extend_from_slice(bytes);
        }
        return;
    }
    let at = |i: usize, len: usize| i % (len + 1);
    match m {
        Mutation::FlipBit(i, bit) => {
            let n = body.len();
            body[i % n] ^= 1 << (bit % 8);
        }
        Mutation::SetByte(i, b) => {
            let n = body.len();
            body[i % n] = *b;
        }
        Mutation::Truncate(i) => body.truncate(at(*i, body.len())),
        Mutation::Insert(i, bytes) => {
            let i = at(*i, body.len());
            body.splice(i..i, bytes.iter().copied());
        }
        Mutation::Delete(i, len) => {
            let i = at(*i, body.len());
            let end = (i + len).min(body.len());
            body.drain(i..end);
        }
        Mutation::Splice(from, len, to) => {
            let from = at(*from, body.len());
            let end = (from + len).min(body.len());
            let piece = body[from..end].to_vec();
            let to = at(*to, body.len());
            body.splice(to..to, piece);
        }
    }
}

fn header_text() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            ":message-type",
            ":event-type",
            ":exception-type",
            ":content-type",
            ":error-code",
            ":error-message",
            "event",
            "exception",
            "error",
            "chunk",
            "trace",
            "files",
            "returnControl",
            "application/json",
            "throttlingException",
        ])
        .prop_map(str::to_string),
        "[ -~]{0,24}",
        Just(format!("message {CANARY} from upstream")),
    ]
}

fn payload_text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("{}".to_string()),
        Just(TRACE.to_string()),
        Just(format!(r#"{{"bytes":"{CANARY}"}}"#)),
        Just(r#"{"bytes":"aGk="}"#.to_string()),
        json().prop_map(|v| v.to_string()),
        "[ -~]{0,64}",
    ]
}

fn frame_spec() -> impl Strategy<Value = FrameSpec> {
    let chunk_bytes = prop_oneof![
        4 => "[ -~]{0,32}".prop_map(String::into_bytes),
        2 => any::<String>().prop_map(String::into_bytes),
        2 => vec(any::<u8>(), 0..32),
        1 => Just(format!("answer with {CANARY} inside").into_bytes()),
        1 => (any::<u8>(), 0usize..4096).prop_map(|(b, n)| vec![b; n]),
    ];
    prop_oneof![
        6 => chunk_bytes.prop_map(FrameSpec::Chunk),
        2 => prop::sample::select(vec!["trace", "files", "someFutureEvent"]).prop_map(FrameSpec::Skipped),
        1 => Just(FrameSpec::ReturnControl),
        2 => (0..EXCEPTIONS.len()).prop_map(|i| FrameSpec::Exception(Ok(i))),
        1 => "[a-zA-Z0-9]{0,24}".prop_map(|n| FrameSpec::Exception(Err(n))),
        2 => (header_text(), payload_text()).prop_map(|(t, p)| FrameSpec::Event(t, p)),
        2 => (vec((header_text(), header_text()), 0..5), vec(any::<u8>(), 0..64))
            .prop_map(|(h, p)| FrameSpec::Raw(h, p)),
        1 => vec(any::<u8>(), 0..32).prop_map(FrameSpec::Garbage),
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::FlipBit(i, b)),
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::SetByte(i, b)),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), vec(any::<u8>(), 1..16)).prop_map(|(i, b)| Mutation::Insert(i, b)),
        (any::<usize>(), 1usize..64).prop_map(|(i, n)| Mutation::Delete(i, n)),
        (any::<usize>(), 1usize..256, any::<usize>())
            .prop_map(|(a, n, b)| Mutation::Splice(a, n, b)),
    ]
}

/// The answer, before the stream: mostly a 200 stream, sometimes an AWS error document.
#[derive(Debug, Clone)]
enum Reply {
    Stream(Vec<FrameSpec>, Vec<Mutation>),
    Error(u16, String),
}

/// Frames whose meaning is fixed (see [`FrameSpec::model`]), mostly answer text.
fn clean_frame() -> impl Strategy<Value = FrameSpec> {
    prop_oneof![
        8 => prop_oneof![
            4 => any::<String>().prop_map(String::into_bytes),
            1 => vec(any::<u8>(), 0..8),
        ]
        .prop_map(FrameSpec::Chunk),
        2 => prop::sample::select(vec!["trace", "files", "someFutureEvent"])
            .prop_map(FrameSpec::Skipped),
        1 => prop_oneof![
            Just(FrameSpec::ReturnControl),
            (0..EXCEPTIONS.len()).prop_map(|i| FrameSpec::Exception(Ok(i))),
        ],
    ]
}

fn reply() -> impl Strategy<Value = Reply> {
    let error_type = prop_oneof![
        prop::sample::select(vec![
            "ThrottlingException",
            "ResourceNotFoundException",
            "AccessDeniedException",
            "ValidationException",
            "InternalServerException",
            "ModelNotReadyException",
        ])
        .prop_map(str::to_string),
        "[A-Za-z0-9:#._-]{0,40}",
    ];
    prop_oneof![
        // Well-formed streams of known frames: checked against the model.
        5 => vec(clean_frame(), 0..12).prop_map(|f| Reply::Stream(f, Vec::new())),
        // Anything that frames correctly, and then the same broken at the byte level.
        4 => vec(frame_spec(), 0..16).prop_map(|f| Reply::Stream(f, Vec::new())),
        4 => (vec(frame_spec(), 0..16), vec(mutation(), 1..4))
            .prop_map(|(f, m)| Reply::Stream(f, m)),
        1 => (400u16..600, error_type).prop_map(|(s, t)| Reply::Error(s, t)),
    ]
}

/// What the mock answers with: the reply, already turned into bytes (outside the mock,
/// so that a fault in the generator is reported as such, not inside the SDK).
enum Served {
    Stream(Vec<u8>),
    Error(u16, String),
}

/// One SDK client for every input (building one per input would dominate the time);
/// the mock rule serves whatever the current input put in `next`.
struct Drain {
    runtime: tokio::runtime::Runtime,
    next: Arc<Mutex<Served>>,
    invoker: SdkAgentInvoker,
}

impl Drain {
    fn new() -> Self {
        let next = Arc::new(Mutex::new(Served::Stream(Vec::new())));
        let serve = next.clone();
        let rule = mock!(Client::invoke_agent).then_http_response(move || {
            match &*serve.lock().unwrap_or_else(|e| e.into_inner()) {
                Served::Stream(body) => testkit::stream_response(std::slice::from_ref(body)),
                Served::Error(status, error_type) => testkit::error_response(*status, error_type),
            }
        });
        // MatchAny: in Sequential mode a simple rule answers once only. No SDK retries:
        // a retried 5xx would only add back-off sleeps, not coverage.
        let client = mock_client!(
            aws_sdk_bedrockagentruntime,
            RuleMode::MatchAny,
            [&rule],
            |b| b.retry_config(RetryConfig::disabled())
        );
        Drain {
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime"),
            next,
            invoker: SdkAgentInvoker::new(client, "AGENT12345", "ALIAS12345"),
        }
    }

    fn check(&self, reply: Reply) -> Result<bool, TestCaseError> {
        let served = match &reply {
            Reply::Stream(frames, mutations) => {
                let mut body: Vec<u8> = frames.iter().flat_map(FrameSpec::bytes).collect();
                for m in mutations {
                    apply(&mut body, m);
                }
                Served::Stream(body)
            }
            Reply::Error(status, error_type) => Served::Error(*status, error_type.clone()),
        };
        *self.next.lock().unwrap_or_else(|e| e.into_inner()) = served;
        let token = xaa::AccessToken::new(ACCESS_TOKEN);
        let (sink, mut pieces) = tokio::sync::mpsc::unbounded_channel();
        let result = self.runtime.block_on(self.invoker.invoke(AgentRequest {
            session_id: "session-1",
            prompt: "Who am I?",
            access_token: &token,
            chunks: Some(&sink),
        }));
        drop(sink);
        let mut streamed = String::new();
        while let Ok(piece) = pieces.try_recv() {
            streamed.push_str(&piece);
        }
        match &result {
            Ok(answer) => {
                // What was streamed is what was answered, in order.
                prop_assert_eq!(&streamed, &answer.text);
                prop_assert!(answer.text.len() <= bridge::MAX_ANSWER_BYTES);
            }
            Err(error) => {
                prop_assert!(bridge::KINDS.contains(&error.kind()));
                let shown = format!("{error} {error:?}");
                no_leak(&shown, &[ACCESS_TOKEN.into(), "injected".into()])?;
            }
        }
        // Well-formed sequences of known frames: the outcome is fixed.
        if let Reply::Stream(frames, mutations) = &reply {
            if mutations.is_empty() {
                if let Some(models) = frames
                    .iter()
                    .map(FrameSpec::model)
                    .collect::<Option<Vec<_>>>()
                {
                    let mut text = Vec::new();
                    let mut expected = None;
                    for model in models {
                        match model {
                            Model::Text(b) => text.extend(b),
                            Model::Skip => {}
                            Model::Fail(kind) => {
                                expected = Some(Err(kind));
                                break;
                            }
                        }
                    }
                    let expected = expected
                        .unwrap_or_else(|| String::from_utf8(text).map_err(|_| "AgentFailed"));
                    let actual = result
                        .as_ref()
                        .map(|a| a.text.clone())
                        .map_err(AgentError::kind);
                    prop_assert_eq!(actual, expected);
                }
            }
        }
        Ok(result.is_ok())
    }
}

#[test]
fn fuzz_bedrock_stream_drain() {
    let drain = Drain::new();
    fuzz("bedrock-stream-drain", 1_000, reply(), |reply| {
        drain.check(reply)
    });
}

#[test]
fn the_drain_harness_sees_a_plain_answer() {
    // Guards the harness itself: a clean stream must come back as its text.
    let drain = Drain::new();
    drain
        .check(Reply::Stream(
            vec![
                FrameSpec::Chunk(b"caf\xc3".to_vec()),
                FrameSpec::Skipped("trace"),
                FrameSpec::Chunk(b"\xa9".to_vec()),
            ],
            Vec::new(),
        ))
        .unwrap();
}
