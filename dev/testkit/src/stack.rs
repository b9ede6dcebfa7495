//! The local stack a test runs the bridge against, its configuration, and the sample
//! events of `events/`.

use std::time::Duration;

use crate::fakes::RFC7520_KID;
use crate::moto::Moto;

/// The configuration the unit-level flow tests use.
pub fn test_config() -> bridge::Config {
    test_config_with(&[])
}

pub fn test_config_with(extra: &[(&'static str, &'static str)]) -> bridge::Config {
    let mut env: std::collections::HashMap<&str, &str> = [
        ("OKTA_DOMAIN", "example.okta.com"),
        ("OKTA_CUSTOM_AS_ID", "aus8abc123"),
        ("AGENT_CLIENT_ID", "wlp8agent"),
        ("AGENT_KEY_ID", RFC7520_KID),
        ("AGENT_PRIVATE_KEY_SECRET_ID", "xaa/agent-key"),
        ("BEDROCK_AGENT_ID", "AGENT12345"),
        ("BEDROCK_AGENT_ALIAS_ID", "ALIAS12345"),
        ("AWS_REGION", "us-east-1"),
    ]
    .into_iter()
    .collect();
    env.extend(extra.iter().copied());
    bridge::Config::from_lookup(|k| env.get(k).map(|v| v.to_string())).unwrap()
}

/// Parse `payload` with the bridge's limits and ask, as a front door does.
pub async fn ask_json(
    bridge: &bridge::Bridge,
    payload: serde_json::Value,
    deadline: bridge::Deadline,
) -> Result<bridge::Answer, bridge::Error> {
    bridge
        .ask_json(payload, bridge::Call::new("req-1", deadline))
        .await
}

pub fn unix_ms_in(d: Duration) -> u64 {
    (std::time::SystemTime::now() + d)
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// `events/`: the sample events for `make invoke`, which double as test fixtures.
pub fn events_dir() -> std::path::PathBuf {
    crate::workspace_root().join("events")
}

/// One file of `events/`, parsed as JSON.
pub fn read_event(name: &str) -> serde_json::Value {
    let path = events_dir().join(name);
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// Every file of `events/` that must be refused as `InvalidRequest`, with the part of
/// the message that tells the caller what to fix. tests/events.rs fails when a file of
/// `events/` is in neither this table nor its table of valid events.
pub fn bad_events() -> Vec<(&'static str, &'static str)> {
    vec![
        ("missing-prompt.json", "field `prompt` is missing"),
        ("empty-id-token.json", "field `id_token` is empty"),
        ("wrong-type.json", "field `prompt` must be a string"),
        (
            "bad-session-id.json",
            "field `session_id` must be 2 to 100 characters",
        ),
        (
            "not-object.json",
            "the event must be a JSON object with `prompt`, `id_token`",
        ),
        (
            "oversized-prompt.json",
            "field `prompt` has 25001 characters; the limit is 25000",
        ),
    ]
}

/// devstack on ephemeral ports, and moto holding the AI agent's private JWK as the
/// secret `secret_name`: the local stack the function runs against.
pub async fn devstack_and_moto(secret_name: &str) -> (devstack::Devstack, Moto) {
    let devstack = devstack::Devstack::start(devstack::Config::default())
        .await
        .expect("devstack starts");
    let moto = Moto::start();
    moto.put_secret(secret_name, &devstack.agent_private_jwk().to_string())
        .await;
    (devstack, moto)
}

/// The function's own configuration (the variables template.yaml sets) for a devstack,
/// with the key in the secret `secret_id`, as `make demo` sets it.
pub fn function_env(s: &devstack::Settings, secret_id: &str) -> Vec<(&'static str, String)> {
    vec![
        ("OKTA_BASE_URL", s.okta_base_url.clone()),
        ("OKTA_CUSTOM_AS_ID", s.okta_custom_as_id.clone()),
        ("OKTA_SCOPE", s.okta_scope.clone()),
        ("AGENT_CLIENT_ID", s.agent_client_id.clone()),
        ("AGENT_KEY_ID", s.agent_key_id.clone()),
        ("AGENT_PRIVATE_KEY_SECRET_ID", secret_id.to_string()),
        ("BEDROCK_AGENT_ID", s.bedrock_agent_id.clone()),
        ("BEDROCK_AGENT_ALIAS_ID", s.bedrock_agent_alias_id.clone()),
        ("AWS_REGION", s.aws_region.clone()),
    ]
}

/// What a bridge process (either front door) needs to run against a local devstack and
/// moto holding the key as `secret_name`: the function's configuration, the local
/// endpoints, dummy credentials with no profile files and no instance metadata, and
/// `PATH`/`HOME` as the only inherited variables.
pub fn local_stack_env(
    devstack: &devstack::Devstack,
    moto: &Moto,
    secret_name: &str,
) -> std::collections::HashMap<String, String> {
    let s = devstack.settings();
    let mut env: std::collections::HashMap<String, String> = ["PATH", "HOME"]
        .into_iter()
        .filter_map(|k| Some((k.to_string(), std::env::var(k).ok()?)))
        .collect();
    let fixed = [
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("AWS_CONFIG_FILE", "/dev/null"),
        ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null"),
    ];
    env.extend(fixed.map(|(k, v)| (k.to_string(), v.to_string())));
    let local = [
        ("OKTA_OIDC_CLIENT_ID", s.oidc_client_id.clone()),
        ("AWS_DEFAULT_REGION", s.aws_region.clone()),
        ("AWS_ENDPOINT_URL_SECRETS_MANAGER", moto.endpoint.clone()),
        (
            "AWS_ENDPOINT_URL_BEDROCK_AGENT_RUNTIME",
            s.bedrock_endpoint_url.clone(),
        ),
    ];
    env.extend(
        local
            .into_iter()
            .chain(function_env(&s, secret_name))
            .map(|(k, v)| (k.to_string(), v)),
    );
    env
}

/// [`local_stack_env`] plus the variables Lambda sets for a function process (those
/// `lambda_runtime` 1.x insists on among them). `AWS_LAMBDA_RUNTIME_API` is left to the
/// emulator (the RIE sets it, devstack's tests add theirs).
pub fn function_process_env(
    devstack: &devstack::Devstack,
    moto: &Moto,
    secret_name: &str,
) -> std::collections::HashMap<String, String> {
    let mut env = local_stack_env(devstack, moto, secret_name);
    let lambda = [
        ("AWS_LAMBDA_FUNCTION_NAME", "xaa-bridge"),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256"),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "2025/01/01/[$LATEST]test"),
        ("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/xaa-bridge"),
    ];
    env.extend(lambda.map(|(k, v)| (k.to_string(), v.to_string())));
    env
}

/// Okta's leg 1 and leg 2 request counts, to compare before and after a call.
pub fn okta_legs(stats: &devstack::Stats) -> (u64, u64) {
    (stats.leg1, stats.leg2)
}

/// The member names of a JSON object (an answer's shape).
pub fn object_keys(value: &serde_json::Value) -> std::collections::BTreeSet<&str> {
    value
        .as_object()
        .expect("a JSON object")
        .keys()
        .map(String::as_str)
        .collect()
}
