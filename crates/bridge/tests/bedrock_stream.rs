//! InvokeAgent through the real SDK client, answered with real event-stream bodies.

use aws_sdk_bedrockagentruntime::config::retry::RetryConfig;
use aws_sdk_bedrockagentruntime::Client;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use bridge::{AgentError, AgentInvoker, AgentRequest, SdkAgentInvoker};
use testkit::*;
use xaa::AccessToken;

fn invoker(rules: &[&Rule]) -> SdkAgentInvoker {
    let client = mock_client!(
        aws_sdk_bedrockagentruntime,
        RuleMode::Sequential,
        rules,
        |b| b.retry_config(
            RetryConfig::standard()
                .with_max_attempts(3)
                .with_initial_backoff(std::time::Duration::from_millis(1))
        )
    );
    SdkAgentInvoker::new(client, "AGENT12345", "ALIAS12345")
}

async fn ask(invoker: &SdkAgentInvoker) -> Result<bridge::AgentAnswer, AgentError> {
    let token = AccessToken::new("access-token-for-alice");
    invoker
        .invoke(AgentRequest {
            session_id: "session-1",
            prompt: "Who am I?",
            access_token: &token,
            chunks: None,
        })
        .await
}

#[tokio::test]
async fn chunks_are_joined_and_the_token_rides_in_session_attributes_only() {
    let rule = mock!(Client::invoke_agent)
        .match_requests(|req| {
            let state = req.session_state().expect("session state");
            req.agent_id() == Some("AGENT12345")
                && req.agent_alias_id() == Some("ALIAS12345")
                && req.session_id() == Some("session-1")
                && req.input_text() == Some("Who am I?")
                && req.enable_trace() == Some(false)
                && state.session_attributes().and_then(|a| a.get("oktaAccessToken")).map(String::as_str) == Some("access-token-for-alice")
                && state.prompt_session_attributes().is_none()
        })
        .then_http_response(|| {
            // "é" split across two chunks: decoding must happen after joining.
            stream_response(&[
                chunk(b"You are signed in as "),
                event("trace", r#"{"agentId":"AGENT12345","sessionId":"session-1","trace":{"orchestrationTrace":{"rationale":{"traceId":"t-1","text":"thinking"}}}}"#),
                chunk(b"alice caf\xc3"),
                chunk(b"\xa9."),
            ])
        });
    let answer = ask(&invoker(&[&rule])).await.unwrap();
    assert_eq!(answer.text, "You are signed in as alice café.");
    assert_eq!(answer.chunks, 3);
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn a_streaming_caller_gets_each_piece_as_whole_characters_in_order() {
    let rule = mock!(Client::invoke_agent).then_http_response(|| {
        stream_response(&[
            chunk(b"alice caf\xc3"),
            event("trace", r#"{"agentId":"AGENT12345","sessionId":"session-1","trace":{"orchestrationTrace":{"rationale":{"traceId":"t-1","text":"thinking"}}}}"#),
            chunk(b"\xa9 "),
            chunk(b"ok"),
        ])
    });
    let invoker = invoker(&[&rule]);
    let token = AccessToken::new("access-token-for-alice");
    let (sink, mut pieces) = tokio::sync::mpsc::unbounded_channel();
    let answer = invoker
        .invoke(AgentRequest {
            session_id: "session-1",
            prompt: "Who am I?",
            access_token: &token,
            chunks: Some(&sink),
        })
        .await
        .unwrap();
    drop(sink);
    let mut seen = Vec::new();
    while let Some(piece) = pieces.recv().await {
        seen.push(piece);
    }
    assert_eq!(seen, ["alice caf", "é ", "ok"]);
    assert_eq!(answer.text, "alice café ok");
}

#[tokio::test]
async fn unknown_future_events_are_tolerated() {
    let rule = mock!(Client::invoke_agent).then_http_response(|| {
        stream_response(&[chunk(b"a"), event("someFutureEvent", "{}"), chunk(b"b")])
    });
    assert_eq!(ask(&invoker(&[&rule])).await.unwrap().text, "ab");
}

#[tokio::test]
async fn return_control_is_reported_as_unsupported() {
    let rule = mock!(Client::invoke_agent).then_http_response(|| {
        stream_response(&[event(
            "returnControl",
            r#"{"invocationId":"1","invocationInputs":[]}"#,
        )])
    });
    let err = ask(&invoker(&[&rule])).await.unwrap_err();
    assert_eq!(err, AgentError::ReturnControl);
    assert_eq!(err.kind(), "AgentFailed");
}

#[tokio::test]
async fn exceptions_inside_the_stream_after_a_chunk_become_typed_errors() {
    for (exception_type, error_type) in [
        ("throttlingException", "AgentThrottled"),
        ("accessDeniedException", "AgentAccessDenied"),
        ("resourceNotFoundException", "AgentNotFound"),
        ("validationException", "AgentFailed"),
        ("dependencyFailedException", "AgentFailed"),
        ("badGatewayException", "AgentFailed"),
        ("internalServerException", "AgentFailed"),
        ("conflictException", "AgentFailed"),
        ("serviceQuotaExceededException", "AgentThrottled"),
        ("modelNotReadyException", "AgentFailed"),
    ] {
        let rule = mock!(Client::invoke_agent).then_http_response(move || {
            stream_response(&[chunk(b"partial "), exception(exception_type)])
        });
        let err = ask(&invoker(&[&rule])).await.unwrap_err();
        assert_eq!(err.kind(), error_type, "{exception_type}: {err}");
        assert_eq!(
            rule.num_calls(),
            1,
            "no retry once a chunk was received ({exception_type})"
        );
        assert!(
            !err.to_string().contains("injected"),
            "upstream message copied: {err}"
        );
    }
}

#[tokio::test]
async fn only_a_refusal_to_start_the_turn_is_retried_and_only_before_any_event() {
    // Throttled or model not ready as the very first thing: no action can have run.
    for first in ["throttlingException", "modelNotReadyException"] {
        let flaky = mock!(Client::invoke_agent)
            .sequence()
            .http_response(move || stream_response(&[exception(first)]))
            .http_response(|| stream_response(&[chunk(b"second try")]))
            .build();
        assert_eq!(
            ask(&invoker(&[&flaky])).await.unwrap().text,
            "second try",
            "{first}"
        );
        assert_eq!(flaky.num_calls(), 2, "{first} retried once");
    }
    let always = mock!(Client::invoke_agent)
        .sequence()
        .http_response(|| stream_response(&[exception("throttlingException")]))
        .repeatedly()
        .build();
    assert_eq!(
        ask(&invoker(&[&always])).await.unwrap_err().kind(),
        "AgentThrottled"
    );
    assert_eq!(always.num_calls(), 2, "retried exactly once");

    // These can follow an action group that already ran: never retried, even with no chunk.
    for fault in [
        "dependencyFailedException",
        "internalServerException",
        "badGatewayException",
        "accessDeniedException",
    ] {
        let rule = mock!(Client::invoke_agent)
            .sequence()
            .http_response(move || stream_response(&[exception(fault)]))
            .repeatedly()
            .build();
        ask(&invoker(&[&rule])).await.unwrap_err();
        assert_eq!(rule.num_calls(), 1, "{fault} is not retried");
    }
    // A throttle after a trace event: the turn had started, so no retry either.
    let started = mock!(Client::invoke_agent)
        .sequence()
        .http_response(|| {
            stream_response(&[
                event("trace", r#"{"agentId":"AGENT12345","sessionId":"session-1","trace":{"orchestrationTrace":{"rationale":{"traceId":"t-1","text":"thinking"}}}}"#),
                exception("throttlingException"),
            ])
        })
        .repeatedly()
        .build();
    ask(&invoker(&[&started])).await.unwrap_err();
    assert_eq!(started.num_calls(), 1, "an event was seen: not retried");
}

#[tokio::test]
async fn errors_before_the_stream_are_typed_and_a_single_429_is_retried_by_the_sdk() {
    let once = mock!(Client::invoke_agent)
        .sequence()
        .http_response(|| error_response(429, "ThrottlingException"))
        .http_response(|| stream_response(&[chunk(b"ok")]))
        .build();
    assert_eq!(ask(&invoker(&[&once])).await.unwrap().text, "ok");

    for (status, error_type, expected) in [
        (429, "ThrottlingException", "AgentThrottled"),
        (404, "ResourceNotFoundException", "AgentNotFound"),
        (403, "AccessDeniedException", "AgentAccessDenied"),
        (400, "ValidationException", "AgentFailed"),
    ] {
        let rule = mock!(Client::invoke_agent)
            .sequence()
            .http_response(move || error_response(status, error_type))
            .repeatedly()
            .build();
        assert_eq!(
            ask(&invoker(&[&rule])).await.unwrap_err().kind(),
            expected,
            "{error_type}"
        );
    }
}

#[tokio::test]
async fn a_corrupted_frame_is_an_error_not_a_panic() {
    let rule = mock!(Client::invoke_agent).then_http_response(|| {
        let mut bytes = chunk(b"hello");
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff; // break the message CRC
        stream_response(&[bytes])
    });
    assert_eq!(
        ask(&invoker(&[&rule])).await.unwrap_err().kind(),
        "AgentFailed"
    );
}

#[tokio::test]
async fn invalid_utf8_in_the_answer_is_refused() {
    let rule =
        mock!(Client::invoke_agent).then_http_response(|| stream_response(&[chunk(b"\xff\xfe")]));
    assert!(ask(&invoker(&[&rule]))
        .await
        .unwrap_err()
        .to_string()
        .contains("UTF-8"));
}

#[tokio::test]
async fn an_answer_that_would_not_fit_lambdas_response_limit_once_escaped_is_refused() {
    // 900 KiB of control characters: under 1 MiB raw, 5.4 MB as JSON (each is \u00XX).
    let rule = mock!(Client::invoke_agent).then_http_response(|| {
        let piece = vec![0x01u8; 64 * 1024];
        let frames: Vec<Vec<u8>> = (0..15).map(|_| chunk(&piece)).collect();
        stream_response(&frames)
    });
    let err = ask(&invoker(&[&rule])).await.unwrap_err();
    assert_eq!(err.kind(), "AgentFailed");
    assert!(err.to_string().contains("too large"), "{err}");
}

#[tokio::test]
async fn a_stream_of_endless_events_is_cut_off() {
    let rule = mock!(Client::invoke_agent).then_http_response(|| {
        let trace = event(
            "trace",
            r#"{"agentId":"AGENT12345","sessionId":"session-1","trace":{"orchestrationTrace":{"rationale":{"traceId":"t-1","text":"x"}}}}"#,
        );
        stream_response(&vec![trace; bridge::MAX_STREAM_EVENTS + 1])
    });
    let err = ask(&invoker(&[&rule])).await.unwrap_err();
    assert!(err.to_string().contains("events"), "{err}");
}
