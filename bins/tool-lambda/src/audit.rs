//! The audit trail: one JSON line on stdout per decision (CloudWatch stores it as is,
//! Logs Insights parses it), written by us rather than through `tracing`, so its shape
//! is the same whatever log format or level is set.
//!
//! It holds ids and codes only: the agent's client id, the person's Okta user id, the
//! action (function name, or method and path *template*, never a filled value), the
//! outcome and reason code, a hash of the token's `jti`. Never a token, an email or
//! name, the prompt, a parameter value or an API body.

use std::io::Write;

use serde::Serialize;

/// Event-supplied names are cut to this many characters in the line.
const MAX_NAME_CHARS: usize = 200;

/// What happened to one invocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The token was good and the API was called; it answered (2xx or 4xx).
    Allowed,
    /// Refused before any call: token missing or refused, action not configured, a
    /// parameter that cannot be used, an event that is not an action-group event.
    Refused,
    /// The token was good (or could not be checked) but the call failed: API
    /// unreachable, 5xx, redirect, too large, out of time, keys unavailable.
    Failed,
}

#[derive(Debug, Serialize)]
pub struct AuditLine<'a> {
    /// Always `"xaa-tool"`: what a metric filter or Insights query matches on.
    pub audit: &'static str,
    pub request_id: &'a str,
    /// The AI agent's client id (`cid`, or `sub` in AGBAC mode), once verified.
    pub agent: Option<&'a str>,
    /// The person's Okta user id (`uid`, or `act.sub` in AGBAC mode), once verified.
    pub person: Option<&'a str>,
    /// The Bedrock agent that called (`agent.id` of the event).
    pub bedrock_agent: Option<String>,
    pub action_group: Option<String>,
    /// The function name, or `METHOD /path/{template}`.
    pub action: Option<String>,
    pub outcome: Outcome,
    /// `ok`, or the refusal/failure code.
    pub reason: &'a str,
    /// The API's status code, when it answered.
    pub api_status: Option<u16>,
    /// Hex of the first 16 bytes of SHA-256 of the token's `jti`, once verified.
    pub jti_hash: Option<&'a str>,
    pub duration_ms: u64,
}

/// A name taken from the event, cut short and stripped of control characters.
pub fn name(raw: &str) -> String {
    raw.chars()
        .filter(|c| !c.is_control())
        .take(MAX_NAME_CHARS)
        .collect()
}

impl AuditLine<'_> {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| {
            r#"{"audit":"xaa-tool","outcome":"failed","reason":"audit_serialization"}"#.into()
        })
    }

    /// Write the line to stdout in one write, so lines never interleave.
    pub fn emit(&self) {
        let mut line = self.to_json();
        line.push('\n');
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(line.as_bytes());
        let _ = out.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    #[test]
    fn the_line_has_every_field_and_ids_only() {
        let line = AuditLine {
            audit: "xaa-tool",
            request_id: "r-1",
            agent: Some("wlpagent"),
            person: Some("00ualice0001"),
            bedrock_agent: Some("DEVAGENT01".into()),
            action_group: Some("tickets".into()),
            action: Some("GET /tickets/{id}".into()),
            outcome: Outcome::Allowed,
            reason: "ok",
            api_status: Some(200),
            jti_hash: Some("00112233445566778899aabbccddeeff"),
            duration_ms: 12,
        };
        let value: Value = serde_json::from_str(&line.to_json()).unwrap();
        assert_eq!(
            value,
            json!({"audit": "xaa-tool", "request_id": "r-1", "agent": "wlpagent",
                   "person": "00ualice0001", "bedrock_agent": "DEVAGENT01",
                   "action_group": "tickets", "action": "GET /tickets/{id}",
                   "outcome": "allowed", "reason": "ok", "api_status": 200,
                   "jti_hash": "00112233445566778899aabbccddeeff", "duration_ms": 12})
        );
        assert!(!line.to_json().contains('\n'));
    }

    #[test]
    fn names_from_the_event_are_cut_and_cleaned() {
        assert_eq!(name("get\nTicket\u{7}"), "getTicket");
        assert_eq!(name(&"x".repeat(500)).len(), MAX_NAME_CHARS);
    }
}
