//! AgentCore's session header to a Bedrock session id.
//!
//! AgentCore sends `X-Amzn-Bedrock-AgentCore-Runtime-Session-Id` (33 to 256 characters,
//! chosen by its caller); Bedrock's `InvokeAgent` wants `^[0-9a-zA-Z._:-]+$`, 2 to 100
//! characters. A header that already fits is used as it is; any other is hashed
//! (SHA-256, hex) under a fixed prefix, so the same header always continues the same
//! Bedrock session and no header text that Bedrock would refuse reaches it.

use aws_lc_rs::digest;

/// The header AgentCore Runtime puts on every invocation.
pub const SESSION_HEADER: &str = "x-amzn-bedrock-agentcore-runtime-session-id";
/// The header AgentCore Runtime uses to name one request.
pub const REQUEST_ID_HEADER: &str = "x-amzn-bedrock-agentcore-runtime-request-id";

/// Longest header value we hash; AgentCore allows 256, anything far beyond is refused.
const MAX_HEADER_CHARS: usize = 1024;

/// Bedrock's session id rule.
pub fn fits_bedrock(id: &str) -> bool {
    (2..=100).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

/// The Bedrock session id for an AgentCore session header value, or `None` when the
/// value is empty or absurdly long.
pub fn from_header(value: &str) -> Option<String> {
    if value.is_empty() || value.len() > MAX_HEADER_CHARS {
        return None;
    }
    if fits_bedrock(value) {
        return Some(value.to_string());
    }
    let hash = digest::digest(&digest::SHA256, value.as_bytes());
    let hex: String = hash.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    Some(format!("agentcore-{hex}"))
}

/// A request id safe to log: AgentCore's when it is a plain identifier, else a new one.
pub fn request_id(header: Option<&str>) -> String {
    match header {
        Some(id)
            if (1..=128).contains(&id.len())
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')) =>
        {
            id.to_string()
        }
        _ => uuid::Uuid::new_v4().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bedrock's documented pattern, written out independently of `fits_bedrock`.
    fn bedrock_accepts(id: &str) -> bool {
        let allowed = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ._:-";
        id.chars().count() >= 2
            && id.chars().count() <= 100
            && id.chars().all(|c| allowed.contains(c))
    }

    #[test]
    fn a_header_that_fits_is_kept_and_any_other_is_hashed_deterministically() {
        let plain = "a".repeat(40);
        assert_eq!(from_header(&plain).as_deref(), Some(plain.as_str()));
        for header in [
            "x".repeat(256),
            "session with spaces and / slashes ok-33-chars".into(),
            "ünïcödé-session-id-that-is-long-enough".into(),
        ] {
            let mapped = from_header(&header).unwrap();
            assert!(bedrock_accepts(&mapped), "{mapped}");
            assert_eq!(from_header(&header).unwrap(), mapped, "deterministic");
            assert_ne!(mapped, header);
        }
        assert_ne!(
            from_header(&"y".repeat(256)),
            from_header(&"z".repeat(256)),
            "different sessions stay apart"
        );
        assert_eq!(from_header(""), None);
        assert_eq!(from_header(&"x".repeat(2000)), None);
    }

    #[test]
    fn only_plain_request_ids_are_logged_as_sent() {
        assert_eq!(request_id(Some("req-123_a.b")), "req-123_a.b");
        let fresh = request_id(Some("has space\nand newline"));
        assert!(uuid::Uuid::parse_str(&fresh).is_ok());
        assert!(uuid::Uuid::parse_str(&request_id(None)).is_ok());
    }
}
