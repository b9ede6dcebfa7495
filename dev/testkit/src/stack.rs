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
