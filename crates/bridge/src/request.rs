//! The request every front door builds and the answer it gets back: strict parsing of
//! `{prompt, id_token, session_id?}` and the ID token pre-check that refuses a dead
//! token before any network call.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::Error;
use xaa::{safe_code, unverified_claims, IdToken};

/// Clock skew we forgive when pre-checking an ID token's `exp`/`nbf`/`iat`.
pub const CLOCK_LEEWAY_SECS: u64 = 60;
/// ID tokens are a few KiB at most; anything far larger is not one.
pub const MAX_ID_TOKEN_BYTES: usize = 16 * 1024;

/// A validated request: what every front door hands to [`crate::Bridge::ask`].
pub struct Request {
    pub prompt: String,
    pub id_token: IdToken,
    pub session_id: Option<String>,
}

/// The agent's answer and the session id the caller used (or was given).
#[derive(Serialize, PartialEq, Eq)]
pub struct Answer {
    pub answer: String,
    pub session_id: String,
}

// The prompt and the answer are the person's words: no derived Debug prints them.
impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Request")
            .field(
                "prompt",
                &format_args!("<{} chars>", self.prompt.chars().count()),
            )
            .field("id_token", &self.id_token)
            .field("session_id", &self.session_id)
            .finish()
    }
}

impl std::fmt::Debug for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Answer")
            .field("answer", &format_args!("<{} bytes>", self.answer.len()))
            .field("session_id", &self.session_id)
            .finish()
    }
}

fn invalid(reason: impl Into<String>) -> Error {
    Error::InvalidRequest(reason.into())
}

impl Request {
    /// Strict parsing: a JSON object with exactly `prompt`, `id_token` and optionally
    /// `session_id`. Messages name the field, never its value.
    pub fn from_json(event: Value, max_prompt_chars: usize) -> Result<Self, Error> {
        Self::from_json_and_bearer(event, None, max_prompt_chars)
    }

    /// As [`Request::from_json`], for front doors where the ID token may also come as
    /// `Authorization: Bearer <id_token>`: then `id_token` may be left out of the body,
    /// and when both are present they must be the same token.
    pub fn from_json_and_bearer(
        event: Value,
        bearer: Option<String>,
        max_prompt_chars: usize,
    ) -> Result<Self, Error> {
        let Value::Object(mut map) = event else {
            return Err(invalid("the event must be a JSON object with `prompt`, `id_token` and optionally `session_id`"));
        };
        if let Some(unknown) = map
            .keys()
            .find(|k| !matches!(k.as_str(), "prompt" | "id_token" | "session_id"))
        {
            return Err(invalid(format!(
                "unknown field `{}`; expected `prompt`, `id_token` and optionally `session_id`",
                safe_code(unknown)
            )));
        }
        let prompt = take_string(&mut map, "prompt")?;
        if prompt.trim().is_empty() {
            return Err(invalid("field `prompt` is empty"));
        }
        let chars = prompt.chars().count();
        if chars > max_prompt_chars {
            return Err(invalid(format!(
                "field `prompt` has {chars} characters; the limit is {max_prompt_chars}"
            )));
        }
        let id_token = match (bearer, map.contains_key("id_token")) {
            (Some(header), false) => {
                if header.is_empty() {
                    return Err(invalid(
                        "the `Authorization: Bearer` header carries no token",
                    ));
                }
                IdToken::new(header)
            }
            (Some(header), true) => {
                let body = take_string(&mut map, "id_token")?;
                // Compared in constant time: neither value may leak through timing.
                if !constant_time_eq(header.as_bytes(), body.as_bytes()) {
                    return Err(invalid(
                        "the ID token in `Authorization: Bearer` differs from field `id_token`; send one of them",
                    ));
                }
                IdToken::new(body)
            }
            (None, _) => IdToken::new(take_string(&mut map, "id_token")?),
        };
        if id_token.len() > MAX_ID_TOKEN_BYTES {
            return Err(invalid(format!(
                "field `id_token` is longer than {MAX_ID_TOKEN_BYTES} bytes"
            )));
        }
        if !looks_like_jwt(id_token.expose()) {
            return Err(invalid("field `id_token` is not a JWT (three base64url parts separated by dots); pass the OIDC ID token"));
        }
        let session_id = match map.remove("session_id") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if is_valid_session_id(&s) => Some(s),
            Some(Value::String(_)) => {
                return Err(invalid(
                    "field `session_id` must be 2 to 100 characters of letters, digits, `.`, `_`, `:` or `-`",
                ))
            }
            Some(_) => return Err(invalid("field `session_id` must be a string")),
        };
        Ok(Request {
            prompt,
            id_token,
            session_id,
        })
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && aws_lc_rs::constant_time::verify_slices_are_equal(a, b).is_ok()
}

fn take_string(map: &mut Map<String, Value>, field: &str) -> Result<String, Error> {
    match map.remove(field) {
        None | Some(Value::Null) => Err(invalid(format!("field `{field}` is missing"))),
        Some(Value::String(s)) if s.is_empty() => Err(invalid(format!("field `{field}` is empty"))),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(invalid(format!("field `{field}` must be a string"))),
    }
}

/// Bedrock's rule for session ids: `^[0-9a-zA-Z._:-]+$`, 2 to 100 characters.
pub fn is_valid_session_id(s: &str) -> bool {
    (2..=100).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

fn looks_like_jwt(token: &str) -> bool {
    let parts: Vec<&str> = token.split('.').collect();
    parts.len() == 3
        && parts[..2].iter().all(|p| !p.is_empty())
        && parts.iter().all(|p| {
            p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// What a pre-check learns from the (untrusted) ID token claims.
pub(crate) struct IdTokenFacts {
    /// Okta user id, for logs; only kept when it looks like one (never an email).
    pub(crate) user_id: Option<String>,
}

/// Refuse an ID token that is certainly dead before spending any network call on it.
/// The claims are not verified here; Okta verifies them at leg 1.
pub(crate) fn precheck_id_token(id_token: &IdToken, now: u64) -> Result<IdTokenFacts, Error> {
    let claims = unverified_claims(id_token.expose()).ok_or_else(|| {
        invalid("field `id_token` does not carry a JSON claims set; pass the OIDC ID token")
    })?;
    let number = |name: &str| claims.get(name).and_then(Value::as_u64);
    let exp =
        number("exp").ok_or_else(|| Error::IdTokenPrecheck("it has no `exp` claim".into()))?;
    // Saturating: an `exp` near u64::MAX is far in the future, not an overflow.
    if exp.saturating_add(CLOCK_LEEWAY_SECS) <= now {
        return Err(Error::IdTokenPrecheck(format!(
            "it expired {} s ago",
            now - exp
        )));
    }
    for claim in ["nbf", "iat"] {
        if number(claim).is_some_and(|t| t > now.saturating_add(CLOCK_LEEWAY_SECS)) {
            return Err(Error::IdTokenPrecheck(format!(
                "its `{claim}` is in the future; check the clock"
            )));
        }
    }
    let user_id = claims
        .get("sub")
        .and_then(Value::as_str)
        .filter(|s| s.len() <= 40 && s.bytes().all(|b| b.is_ascii_alphanumeric()))
        .map(str::to_string);
    Ok(IdTokenFacts { user_id })
}

impl Request {
    /// The ID token pre-check alone, for `tests/fuzz.rs`: the check itself stays
    /// crate-private, and an associated function needs no new export in `lib.rs`.
    #[doc(hidden)]
    pub fn precheck_for_fuzzing(id_token: &str, now: u64) -> Result<(), Error> {
        precheck_id_token(&IdToken::new(id_token), now).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    use serde_json::json;

    fn jwt(claims: Value) -> String {
        format!(
            "eyJhbGciOiJSUzI1NiJ9.{}.c2ln",
            URL_SAFE_NO_PAD.encode(claims.to_string())
        )
    }

    fn refusal(event: Value) -> String {
        match Request::from_json(event, 100) {
            Err(Error::InvalidRequest(m)) => m,
            other => panic!("expected InvalidRequest, got {other:?}"),
        }
    }

    #[test]
    fn a_well_formed_event_is_accepted_with_or_without_session_id() {
        let token = jwt(json!({"exp": 1}));
        let r = Request::from_json(json!({"prompt": "hi", "id_token": token}), 100).unwrap();
        assert_eq!((r.prompt.as_str(), r.session_id), ("hi", None));
        let r = Request::from_json(
            json!({"prompt": "hi", "id_token": token, "session_id": "abc-1.2:3_x"}),
            100,
        )
        .unwrap();
        assert_eq!(r.session_id.as_deref(), Some("abc-1.2:3_x"));
    }

    #[test]
    fn bad_events_are_refused_naming_the_field_never_the_value() {
        let token = jwt(json!({"exp": 1}));
        let cases = [
            (json!(["prompt"]), "must be a JSON object"),
            (json!("text"), "must be a JSON object"),
            (json!({"id_token": token}), "field `prompt` is missing"),
            (
                json!({"prompt": "", "id_token": token}),
                "field `prompt` is empty",
            ),
            (
                json!({"prompt": "   ", "id_token": token}),
                "field `prompt` is empty",
            ),
            (
                json!({"prompt": 42, "id_token": token}),
                "field `prompt` must be a string",
            ),
            (
                json!({"prompt": "x".repeat(101), "id_token": token}),
                "has 101 characters; the limit is 100",
            ),
            (json!({"prompt": "hi"}), "field `id_token` is missing"),
            (
                json!({"prompt": "hi", "id_token": ""}),
                "field `id_token` is empty",
            ),
            (
                json!({"prompt": "hi", "id_token": {"a": 1}}),
                "field `id_token` must be a string",
            ),
            (
                json!({"prompt": "hi", "id_token": "not-a-jwt"}),
                "is not a JWT",
            ),
            (
                json!({"prompt": "hi", "id_token": "a.b.c d"}),
                "is not a JWT",
            ),
            (
                json!({"prompt": "hi", "id_token": token, "session_id": "a"}),
                "2 to 100 characters",
            ),
            (
                json!({"prompt": "hi", "id_token": token, "session_id": "has space"}),
                "2 to 100 characters",
            ),
            (
                json!({"prompt": "hi", "id_token": token, "session_id": "x".repeat(101)}),
                "2 to 100 characters",
            ),
            (
                json!({"prompt": "hi", "id_token": token, "session_id": 7}),
                "must be a string",
            ),
            (
                json!({"prompt": "hi", "id_token": token, "extra": 1}),
                "unknown field `extra`",
            ),
        ];
        for (event, expected) in cases {
            let message = refusal(event.clone());
            assert!(
                message.contains(expected),
                "{event}: {message:?} lacks {expected:?}"
            );
            assert!(!message.contains(&token), "token leaked: {message}");
        }
        // Prompt length counts characters, not bytes.
        assert!(
            Request::from_json(json!({"prompt": "é".repeat(100), "id_token": token}), 100).is_ok()
        );
    }

    #[test]
    fn the_id_token_may_come_as_a_bearer_header_and_must_then_match_the_body() {
        let token = jwt(json!({"exp": 1}));
        let other = jwt(json!({"exp": 2}));
        let parse = |body: Value, bearer: Option<&str>| {
            Request::from_json_and_bearer(body, bearer.map(str::to_string), 100)
        };
        let r = parse(json!({"prompt": "hi"}), Some(&token)).unwrap();
        assert_eq!(r.id_token.expose(), token);
        let r = parse(json!({"prompt": "hi", "id_token": token}), Some(&token)).unwrap();
        assert_eq!(r.id_token.expose(), token);
        for (body, bearer, expected) in [
            (
                json!({"prompt": "hi", "id_token": token}),
                Some(other.as_str()),
                "differs from field `id_token`",
            ),
            (json!({"prompt": "hi"}), Some(""), "carries no token"),
            (json!({"prompt": "hi"}), Some("not-a-jwt"), "is not a JWT"),
            (json!({"prompt": "hi"}), None, "field `id_token` is missing"),
        ] {
            match parse(body, bearer) {
                Err(Error::InvalidRequest(m)) => {
                    assert!(m.contains(expected), "{m:?} lacks {expected:?}");
                    assert!(
                        !m.contains(&token) && !m.contains(&other),
                        "token leaked: {m}"
                    );
                }
                other => panic!("expected InvalidRequest, got {other:?}"),
            }
        }
    }

    #[test]
    fn debug_of_a_request_or_answer_shows_no_words_of_the_person() {
        let token = jwt(json!({"exp": 1}));
        let r = Request::from_json(json!({"prompt": "my secret plan", "id_token": token}), 100)
            .unwrap();
        let shown = format!("{r:?}");
        assert!(
            !shown.contains("secret plan") && !shown.contains(&token),
            "{shown}"
        );
        let a = Answer {
            answer: "the private answer".into(),
            session_id: "s1".into(),
        };
        assert!(!format!("{a:?}").contains("private answer"));
    }

    #[test]
    fn expired_or_future_id_tokens_fail_the_precheck() {
        let now = 1_000_000;
        let check = |claims: Value| precheck_id_token(&IdToken::new(jwt(claims)), now);
        assert!(
            matches!(check(json!({"exp": now - 61})), Err(Error::IdTokenPrecheck(m)) if m == "it expired 61 s ago")
        );
        assert!(
            check(json!({"exp": now - 30, "sub": "00u1"})).is_ok(),
            "inside the leeway"
        );
        assert!(matches!(
            check(json!({"sub": "x"})),
            Err(Error::IdTokenPrecheck(_))
        ));
        assert!(
            matches!(check(json!({"exp": now + 600, "nbf": now + 3600})), Err(Error::IdTokenPrecheck(m)) if m.contains("nbf"))
        );
        assert!(
            matches!(check(json!({"exp": now + 600, "iat": now + 3600})), Err(Error::IdTokenPrecheck(m)) if m.contains("iat"))
        );
        // Absurd numbers are handled, never an overflow (a panic in debug builds).
        assert!(check(json!({"exp": u64::MAX})).is_ok());
        assert!(
            matches!(check(json!({"exp": u64::MAX, "iat": u64::MAX})), Err(Error::IdTokenPrecheck(m)) if m.contains("iat"))
        );
        assert!(matches!(
            precheck_id_token(&IdToken::new(jwt(json!({"exp": 5}))), u64::MAX),
            Err(Error::IdTokenPrecheck(_))
        ));
        let facts = check(json!({"exp": now + 600, "sub": "00uabc123"})).unwrap();
        assert_eq!(facts.user_id.as_deref(), Some("00uabc123"));
        let facts = check(json!({"exp": now + 600, "sub": "alice@example.com"})).unwrap();
        assert_eq!(facts.user_id, None, "an email-like sub is never logged");
    }
}
