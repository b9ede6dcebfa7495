//! What must never be in the tool's logs, searched plainly, base64-encoded and as any
//! JWT-shaped string (so a token is found whatever its value).

use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use base64::Engine;
use testkit::Logs;

/// Every place a JWT-shaped string (`eyJ...` `.` `eyJ...`) starts.
pub fn jwt_shapes(text: &str) -> Vec<&str> {
    let is_b64url = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'_';
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    for (start, _) in text.match_indices("eyJ") {
        let header_end = start + bytes[start..].iter().take_while(|b| is_b64url(**b)).count();
        if text[header_end..].starts_with(".eyJ") {
            let end = (header_end + 40).min(text.len());
            found.push(text.get(start..end).unwrap_or(&text[start..header_end]));
        }
    }
    found
}

/// The text hidden in `text` as base64 or base64url runs, joined.
pub fn decoded_base64(text: &str) -> String {
    let is_b64 = |c: char| c.is_ascii_alphanumeric() || "+/-_".contains(c);
    let mut out = String::new();
    for run in text
        .split(|c: char| !is_b64(c))
        .filter(|run| run.len() >= 8)
    {
        let decoded = [&STANDARD_NO_PAD, &URL_SAFE_NO_PAD]
            .into_iter()
            .find_map(|engine| engine.decode(run.trim_end_matches('=')).ok())
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .filter(|s| s.chars().all(|c| !c.is_control() || c == '\n'));
        if let Some(decoded) = decoded {
            out.push_str(&decoded);
        }
    }
    out
}

/// Panics, naming the secret and showing the suspect lines, when one was logged.
pub fn assert_nothing_secret_in(logs: &Logs, secrets: &[(String, String)]) {
    let all = logs.all();
    let decoded = decoded_base64(&all);
    for (what, value) in secrets {
        if value.is_empty() {
            continue;
        }
        let lines: Vec<&str> = all
            .lines()
            .filter(|l| l.contains(value.as_str()))
            .take(5)
            .collect();
        assert!(lines.is_empty(), "{what} was logged:\n{}", lines.join("\n"));
        assert!(
            !decoded.contains(value.as_str()),
            "{what} was logged base64-encoded"
        );
    }
    let shapes = jwt_shapes(&all);
    assert!(shapes.is_empty(), "a JWT was logged: {shapes:?}");
}

#[test]
fn the_detectors_find_what_they_look_for() {
    let token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln";
    assert_eq!(jwt_shapes(&format!("a {token} b")).len(), 1);
    assert!(jwt_shapes("eyJhbGciOiJSUzI1NiJ9 alone").is_empty());
    let hidden = URL_SAFE_NO_PAD.encode("alice@example.com");
    assert!(decoded_base64(&format!("x {hidden} y")).contains("alice@example.com"));
    let logs = Logs {
        stdout: format!("line with {token}"),
        stderr: String::new(),
    };
    let caught = std::panic::catch_unwind(|| assert_nothing_secret_in(&logs, &[]));
    assert!(caught.is_err(), "a JWT shape must be caught");
}
