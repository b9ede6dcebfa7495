//! Log safety for the tests that run a real binary: what must never be in its output is
//! searched plainly, base64-encoded (even split in pieces) and as any JWT-shaped string,
//! so a token is found whatever its value.

use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use base64::Engine;

use crate::Logs;

/// Every place a JWT-shaped string starts (`eyJ...` `.` `eyJ...`: a base64url JSON header
/// and claims set), so no token of any kind (ID token, client assertion, ID-JAG, access
/// token) can be logged without this finding it, whatever its value.
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

/// The text hidden in `text` as base64 or base64url, joined in order: a secret logged as
/// bytes (an event-stream payload, a body) shows up here even when it was encoded and
/// split into pieces. Runs that decode to binary garbage (ordinary words do) are skipped.
pub fn decoded_base64(text: &str) -> String {
    let is_b64 = |c: char| c.is_ascii_alphanumeric() || "+/-_".contains(c);
    let mut out = String::new();
    for run in text
        .split(|c: char| !is_b64(c))
        .filter(|run| run.len() >= 8)
    {
        let decoded = [&STANDARD_NO_PAD, &URL_SAFE_NO_PAD]
            .into_iter()
            .find_map(|engine| engine.decode(run).ok())
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .filter(|s| s.chars().all(|c| !c.is_control() || c == '\n'));
        if let Some(decoded) = decoded {
            out.push_str(&decoded);
        }
    }
    out
}

/// Assert that no secret of the scenario appears in the logs, plainly or base64-encoded.
/// A failure names the secret and shows the suspect lines, not the whole log.
pub fn assert_nothing_secret_in(logs: &Logs, secrets: &[(String, String)]) {
    let all = logs.all();
    let decoded = decoded_base64(&all);
    let suspects = |found: &dyn Fn(&str) -> bool| -> String {
        let lines: Vec<String> = all
            .lines()
            .filter(|line| found(line))
            .take(10)
            .map(|line| line.chars().take(600).collect())
            .collect();
        lines.join("\n")
    };
    for (what, value) in secrets {
        let value = value.as_str();
        if all.contains(value) {
            panic!(
                "{what} was logged:\n{}",
                suspects(&|line| line.contains(value))
            );
        }
        if decoded.contains(value) {
            let lines = suspects(&|line| !decoded_base64(line).is_empty());
            panic!("{what} was logged base64-encoded, in pieces (joined: {decoded:?}):\n{lines}");
        }
    }
    let shapes = jwt_shapes(&all);
    assert!(shapes.is_empty(), "a JWT was logged: {shapes:?}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_detectors_find_what_they_look_for() {
        let token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln";
        assert_eq!(jwt_shapes(&format!("body={token}&x=1")).len(), 1);
        assert!(jwt_shapes("eyJhbGciOiJSUzI1NiJ9 alone, or eyJ.abc").is_empty());
        let hidden = URL_SAFE_NO_PAD.encode("alice@example.com");
        assert!(decoded_base64(&format!("x {hidden} y")).contains("alice@example.com"));
        let hidden = STANDARD_NO_PAD.encode("You are signed in");
        assert!(decoded_base64(&hidden).contains("signed in"));
        let logs = Logs {
            stdout: format!("line with {token}"),
            stderr: String::new(),
        };
        let caught = std::panic::catch_unwind(|| assert_nothing_secret_in(&logs, &[]));
        assert!(caught.is_err(), "a JWT shape must be caught");
        let logs = Logs {
            stdout: format!("x {}", URL_SAFE_NO_PAD.encode("the-secret-value")),
            stderr: String::new(),
        };
        let secrets = [("a secret".to_string(), "the-secret-value".to_string())];
        let caught = std::panic::catch_unwind(|| assert_nothing_secret_in(&logs, &secrets));
        assert!(caught.is_err(), "a base64-encoded secret must be caught");
    }
}
