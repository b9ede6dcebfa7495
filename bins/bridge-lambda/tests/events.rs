//! The sample events in `events/` (used by `make invoke` and the README) are parsed here
//! exactly as the Lambda parses its payload, so none of them can rot: the valid ones are
//! accepted, every bad one is refused with `InvalidRequest` and a message that names
//! what to fix, and a file nobody added to the tables below fails the suite.

use std::collections::BTreeSet;

use bridge::{Error, Request};
use serde_json::Value;
use testkit::{bad_events, events_dir, read_event};

/// Bedrock's `inputText` limit, the default of `MAX_PROMPT_CHARS`.
const MAX_PROMPT_CHARS: usize = 25_000;

/// Events that must parse, with the `session_id` they carry.
const VALID_EVENTS: &[(&str, Option<&str>)] = &[
    ("valid.json", None),
    ("with-session.json", Some("demo-session-0001")),
];

fn parse(name: &str) -> Result<Request, Error> {
    Request::from_json(read_event(name), MAX_PROMPT_CHARS)
}

#[test]
fn valid_event_parses_without_a_session_id() {
    let event = read_event("valid.json");
    let request = parse("valid.json").expect("events/valid.json is accepted");
    assert_eq!(request.prompt, event["prompt"].as_str().unwrap());
    assert_eq!(
        request.id_token.expose(),
        event["id_token"].as_str().unwrap()
    );
    assert_eq!(request.session_id, None);
}

#[test]
fn with_session_event_keeps_its_session_id() {
    let event = read_event("with-session.json");
    let request = parse("with-session.json").expect("events/with-session.json is accepted");
    assert_eq!(request.prompt, event["prompt"].as_str().unwrap());
    assert_eq!(request.session_id.as_deref(), Some("demo-session-0001"));
}

#[test]
fn every_bad_event_is_refused_with_a_message_naming_what_to_fix() {
    for (name, expected) in bad_events() {
        let event = read_event(name);
        let message = match Request::from_json(event.clone(), MAX_PROMPT_CHARS) {
            Err(Error::InvalidRequest(message)) => message,
            Err(other) => panic!("events/{name}: expected InvalidRequest, got {other:?}"),
            Ok(request) => panic!("events/{name} was accepted: {request:?}"),
        };
        assert!(
            message.contains(expected),
            "events/{name}: {message:?} does not say {expected:?}"
        );
        // The message names the field, never its value.
        assert!(
            !message.contains("eyJ"),
            "events/{name}: a token leaked into {message:?}"
        );
        let object = event
            .as_object()
            .or_else(|| event.get(0).and_then(Value::as_object));
        for value in object.into_iter().flat_map(|o| o.values()) {
            if let Some(text) = value.as_str().filter(|s| s.len() > 3) {
                assert!(
                    !message.contains(text),
                    "events/{name}: a value leaked into {message:?}"
                );
            }
        }
    }
}

/// The contract of scripts/gen-oversized-event.py: valid.json's token and a prompt of
/// exactly one character more than the default limit, so it fails on length alone.
#[test]
fn oversized_prompt_event_is_one_character_over_the_default_limit() {
    assert_eq!(
        testkit::test_config().max_prompt_chars,
        MAX_PROMPT_CHARS,
        "the default MAX_PROMPT_CHARS changed: regenerate events/oversized-prompt.json"
    );
    let event = read_event("oversized-prompt.json");
    let prompt = event["prompt"].as_str().expect("a string prompt");
    assert_eq!(prompt.chars().count(), MAX_PROMPT_CHARS + 1);
    assert_eq!(event["id_token"], read_event("valid.json")["id_token"]);
    let keys: BTreeSet<&str> = event
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, BTreeSet::from(["id_token", "prompt"]));

    // One character less and the same event is accepted.
    let mut at_limit = event.clone();
    at_limit["prompt"] = Value::String(prompt.chars().take(MAX_PROMPT_CHARS).collect());
    Request::from_json(at_limit, MAX_PROMPT_CHARS).expect("a prompt at the limit is accepted");
}

#[test]
fn every_file_in_events_is_covered_by_a_test() {
    let on_disk: BTreeSet<String> = std::fs::read_dir(events_dir())
        .expect("events/ is readable")
        .map(|entry| {
            entry
                .expect("a directory entry")
                .file_name()
                .into_string()
                .expect("a UTF-8 file name")
        })
        // xaa-tool's action-group events: bins/tool-lambda/tests/calls.rs runs them.
        .filter(|name: &String| !name.starts_with("tool-"))
        .collect();
    let bad = bad_events();
    let covered: BTreeSet<String> = VALID_EVENTS
        .iter()
        .map(|(name, _)| *name)
        .chain(bad.iter().map(|(name, _)| *name))
        .map(str::to_string)
        .collect();
    assert_eq!(
        covered.len(),
        VALID_EVENTS.len() + bad.len(),
        "a file is listed twice"
    );

    let uncovered: Vec<&String> = on_disk.difference(&covered).collect();
    assert!(
        uncovered.is_empty(),
        "events/ holds files no test parses: {uncovered:?}; add them to VALID_EVENTS in \
         tests/events.rs or to bad_events() in tests/common/mod.rs"
    );
    let missing: Vec<&String> = covered.difference(&on_disk).collect();
    assert!(
        missing.is_empty(),
        "the tables name files that are not in events/: {missing:?}"
    );

    for (name, session_id) in VALID_EVENTS {
        let request = parse(name).unwrap_or_else(|e| panic!("events/{name} is refused: {e}"));
        assert_eq!(request.session_id.as_deref(), *session_id, "events/{name}");
    }
}
