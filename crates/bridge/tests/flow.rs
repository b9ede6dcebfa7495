//! The whole chain with real parts: the handler built by `Bridge::from_clients` with the
//! real Okta HTTP transport, the real Secrets Manager client against moto (a process) and
//! the real Bedrock SDK client against devstack (in process, ephemeral ports). Each row
//! of the troubleshooting table is produced by misconfiguring the stack the way an
//! operator would, and the test asserts the `errorType` and the hint the Lambda returns.

use std::time::Duration;

use aws_sdk_bedrockagentruntime::config::{BehaviorVersion, Credentials, Region};
use bridge::Config;
use bridge::{Bridge, Error};
use devstack::{BedrockFault, Devstack, IdTokenOptions, OktaFault};
use serde_json::{json, Value};
use testkit::*;

const SECRET_NAME: &str = "xaa-bridge/flow/agent-key";

/// devstack, moto holding the agent's private JWK, and a bridge wired to both.
struct Stack {
    devstack: Devstack,
    _moto: Moto,
    bridge: Bridge,
}

impl Stack {
    async fn start() -> Stack {
        Stack::start_with(&[]).await
    }

    /// `overrides` replace or add Lambda environment variables.
    async fn start_with(overrides: &[(&str, &str)]) -> Stack {
        let (devstack, moto) = devstack_and_moto(SECRET_NAME).await;
        let config = Config::from_lookup(Stack::env(&devstack, overrides))
            .expect("the configuration is valid");
        let bridge = Stack::bridge(&devstack, &moto, config);
        Stack {
            devstack,
            _moto: moto,
            bridge,
        }
    }

    /// The Lambda's environment for this stack, as `make demo` sets it.
    fn env(devstack: &Devstack, overrides: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let mut env: std::collections::HashMap<String, String> =
            function_env(&devstack.settings(), SECRET_NAME)
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect();
        env.extend(
            overrides
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string())),
        );
        move |name: &str| env.get(name).cloned()
    }

    fn bridge(devstack: &Devstack, moto: &Moto, config: Config) -> Bridge {
        let bedrock = aws_sdk_bedrockagentruntime::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(devstack.bedrock_endpoint_url())
            .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
            .build();
        Bridge::from_clients(
            config,
            moto.client(),
            aws_sdk_bedrockagentruntime::Client::from_conf(bedrock),
        )
        .expect("bridge builds")
    }

    fn id_token(&self, login: &str) -> String {
        self.devstack
            .mint_id_token(login, IdTokenOptions::default())
    }

    async fn ask(&self, id_token: &str, prompt: &str) -> Result<Value, Error> {
        self.ask_until(id_token, prompt, bridge::Deadline::NONE)
            .await
    }

    async fn ask_until(
        &self,
        id_token: &str,
        prompt: &str,
        deadline: bridge::Deadline,
    ) -> Result<Value, Error> {
        ask_json(
            &self.bridge,
            json!({"prompt": prompt, "id_token": id_token}),
            deadline,
        )
        .await
        .map(|r| serde_json::to_value(r).unwrap())
    }

    /// (leg 1, leg 2, InvokeAgent) requests so far.
    fn calls(&self) -> (u64, u64, u64) {
        let s = self.devstack.stats();
        (s.leg1, s.leg2, s.invoke_agent)
    }
}

fn answer(result: Result<Value, Error>) -> String {
    match result {
        Ok(v) => v["answer"]
            .as_str()
            .expect("answer is a string")
            .to_string(),
        Err(e) => panic!("expected an answer, got {}: {e}", e.kind()),
    }
}

/// The error's (kind, message): what every front door shows (Lambda's errorType and
/// errorMessage, AgentCore's `error` and `message`).
fn refusal(result: Result<Value, Error>) -> (String, String) {
    match result {
        Ok(v) => panic!("expected an error, got {v}"),
        Err(e) => (e.kind().to_string(), e.to_string()),
    }
}

fn assert_refused(result: Result<Value, Error>, error_type: &str, hint: &str) {
    let (ty, message) = refusal(result);
    assert_eq!(ty, error_type, "message: {message}");
    assert!(
        message.contains(hint),
        "{message:?} lacks the hint {hint:?}"
    );
    assert!(
        !message.contains("eyJ"),
        "a token leaked into the message: {message}"
    );
}

#[tokio::test]
async fn two_users_get_their_own_answers_and_a_warm_call_makes_no_okta_call() {
    let stack = Stack::start().await;
    let alice = stack.id_token("alice@example.com");
    let bob = stack.id_token("bob@example.com");

    assert_eq!(
        answer(stack.ask(&alice, "Who am I?").await),
        "You are signed in as alice@example.com."
    );
    assert_eq!(
        stack.calls(),
        (1, 1, 1),
        "cold: one token exchange, one JWT bearer grant, one agent call"
    );
    let last = stack
        .devstack
        .stats()
        .last_invoke
        .expect("the agent saw the call");
    assert_eq!(last.input_text, "Who am I?");
    assert_eq!(
        last.session_attribute_names,
        vec!["oktaAccessToken".to_string()]
    );
    assert!(
        last.prompt_session_attribute_names.is_empty(),
        "the token never goes into the prompt"
    );

    assert_eq!(
        answer(stack.ask(&bob, "Who am I?").await),
        "You are signed in as bob@example.com."
    );
    assert_eq!(
        stack.calls(),
        (2, 2, 2),
        "another user costs its own exchange"
    );

    // Warm: both tokens are cached, the agent is still called every time.
    let again = stack.ask(&alice, "And now?").await.unwrap();
    assert_eq!(again["answer"], "You are signed in as alice@example.com.");
    assert_eq!(
        stack.calls(),
        (2, 2, 3),
        "a warm invocation makes no Okta call"
    );

    // A given session id goes to Bedrock and comes back.
    let answer = ask_json(
        &stack.bridge,
        json!({"prompt": "hi", "id_token": bob, "session_id": "chat-42"}),
        bridge::Deadline::NONE,
    )
    .await
    .unwrap();
    let response = serde_json::to_value(answer).unwrap();
    assert_eq!(response["session_id"], "chat-42");
    // Bedrock sees an id bound to Bob; Alice naming the same id reaches another session.
    let bobs = stack.devstack.stats().last_invoke.unwrap().session_id;
    assert!(bobs.starts_with("xs-") && bobs.len() == 67, "{bobs}");
    ask_json(
        &stack.bridge,
        json!({"prompt": "hi", "id_token": stack.devstack.mint_id_token("alice@example.com", IdTokenOptions::default()), "session_id": "chat-42"}),
        bridge::Deadline::NONE,
    )
    .await
    .unwrap();
    let alices = stack.devstack.stats().last_invoke.unwrap().session_id;
    assert_ne!(
        alices, bobs,
        "one session id, two people, two Bedrock sessions"
    );
}

#[tokio::test]
async fn a_kid_other_than_the_registered_one_is_agent_auth_failed_pointing_at_agent_key_id() {
    let stack = Stack::start().await;
    // The operator registered the public key under another key id than the one in use.
    let mut public = stack.devstack.agent_public_jwk();
    public["kid"] = json!("registered-other-kid");
    stack.devstack.set_agent_public_jwks(vec![public]);

    let id_token = stack.id_token("alice@example.com");
    assert_refused(
        stack.ask(&id_token, "hi").await,
        "AgentAuthFailed",
        "AGENT_KEY_ID",
    );
    let (leg1, leg2, invoked) = stack.calls();
    assert_eq!((leg2, invoked), (0, 0));
    assert_eq!(
        leg1, 2,
        "a kid error reloads the secret once and tries again, then gives up"
    );
}

#[tokio::test]
async fn no_registered_public_key_is_agent_auth_failed_saying_register_the_jwk() {
    let stack = Stack::start().await;
    stack.devstack.set_agent_public_jwks(vec![]);
    let id_token = stack.id_token("alice@example.com");
    assert_refused(
        stack.ask(&id_token, "hi").await,
        "AgentAuthFailed",
        "register the public JWK",
    );
    assert_eq!(stack.calls().2, 0);
}

#[tokio::test]
async fn a_system_scope_is_refused_at_init_and_an_unknown_scope_by_okta() {
    // OKTA_SCOPE=openid never reaches Okta: the configuration is refused, naming the variable.
    let (devstack, _moto) = devstack_and_moto(SECRET_NAME).await;
    let err = Config::from_lookup(Stack::env(&devstack, &[("OKTA_SCOPE", "openid xaa:read")]))
        .unwrap_err();
    let message = Error::from(err).to_string();
    assert!(
        message.contains("OKTA_SCOPE") && message.contains("openid"),
        "{message}"
    );

    // A custom scope the custom authorization server does not have: Okta's invalid_scope.
    let stack = Stack::start_with(&[("OKTA_SCOPE", "xaa:write")]).await;
    let id_token = stack.id_token("alice@example.com");
    assert_refused(
        stack.ask(&id_token, "hi").await,
        "ScopeRejected",
        "custom scope such as xaa:read",
    );
    assert_eq!(stack.calls(), (1, 0, 0), "an OAuth 400 is not retried");
}

#[tokio::test]
async fn a_policy_without_jwt_bearer_is_policy_denied_and_not_retried() {
    let stack = Stack::start().await;
    stack.devstack.set_policy_allows_jwt_bearer(false);
    let id_token = stack.id_token("alice@example.com");
    assert_refused(
        stack.ask(&id_token, "hi").await,
        "PolicyDenied",
        "enable the JWT Bearer grant",
    );
    assert_eq!(
        stack.calls(),
        (1, 1, 0),
        "one attempt per leg, no retry on a 4xx"
    );

    // The operator fixes the rule: the cached ID-JAG is redeemed, leg 1 is not repeated.
    stack.devstack.set_policy_allows_jwt_bearer(true);
    assert_eq!(
        answer(stack.ask(&id_token, "hi").await),
        "You are signed in as alice@example.com."
    );
    assert_eq!(stack.calls(), (1, 2, 1));
}

#[tokio::test]
async fn a_service_app_client_id_in_agent_client_id_is_the_wrong_flow() {
    // The operator copied the client id of an API service app that uses the same key
    // pair: client authentication passes, but only an AI agent may run leg 1.
    let stack = Stack::start_with(&[("AGENT_CLIENT_ID", "0oaserviceapp01")]).await;
    stack
        .devstack
        .register_service_app("0oaserviceapp01", stack.devstack.agent_public_jwk());
    let id_token = stack.id_token("alice@example.com");
    assert_refused(
        stack.ask(&id_token, "hi").await,
        "AgentAuthFailed",
        "use the AI agent client for leg 1",
    );
    assert_eq!(stack.calls(), (1, 0, 0), "an OAuth 400 is not retried");
}

#[tokio::test]
async fn a_sign_in_older_than_the_step_up_policy_is_step_up_required_with_its_max_age() {
    let stack = Stack::start().await;
    stack.devstack.set_max_auth_age(Some(600));
    // Signed in 30 minutes ago; the ID token itself is still valid.
    let stale = stack.devstack.mint_id_token(
        "alice@example.com",
        IdTokenOptions {
            issued_at_offset_secs: -1800,
            ..IdTokenOptions::default()
        },
    );
    assert_refused(
        stack.ask(&stale, "hi").await,
        "StepUpRequired",
        "max_age 600 s",
    );
    assert_eq!(stack.calls(), (1, 0, 0));

    // A fresh sign-in satisfies the policy.
    let fresh = stack.id_token("alice@example.com");
    assert_eq!(
        answer(stack.ask(&fresh, "hi").await),
        "You are signed in as alice@example.com."
    );
}

#[tokio::test]
async fn an_id_token_for_another_app_is_refused_by_okta_or_before_any_call_when_verified() {
    let stack = Stack::start().await;
    let foreign = stack.devstack.mint_id_token(
        "alice@example.com",
        IdTokenOptions {
            audience: Some("0oasomeotherapp".into()),
            ..IdTokenOptions::default()
        },
    );
    assert_refused(
        stack.ask(&foreign, "hi").await,
        "IdTokenRejected",
        "the OIDC app linked to the AI agent",
    );
    assert_eq!(stack.calls(), (1, 0, 0));

    // With OKTA_OIDC_CLIENT_ID set, the bridge checks the audience itself: no token call.
    let oidc_client_id = stack.devstack.settings().oidc_client_id;
    let verifying = Stack::start_with(&[("OKTA_OIDC_CLIENT_ID", &oidc_client_id)]).await;
    let foreign = verifying.devstack.mint_id_token(
        "alice@example.com",
        IdTokenOptions {
            audience: Some("0oasomeotherapp".into()),
            ..IdTokenOptions::default()
        },
    );
    let (ty, _) = refusal(verifying.ask(&foreign, "hi").await);
    assert_eq!(ty, "IdTokenRejected");
    assert_eq!(verifying.calls(), (0, 0, 0));
    // ... and a genuine one still goes through, verified against the org keys.
    let genuine = verifying.id_token("bob@example.com");
    assert_eq!(
        answer(verifying.ask(&genuine, "hi").await),
        "You are signed in as bob@example.com."
    );
    assert!(verifying.devstack.stats().jwks_fetches >= 1);
}

#[tokio::test]
async fn an_expired_id_token_costs_no_call_and_one_just_expired_is_refused_by_okta() {
    let stack = Stack::start().await;
    let long_expired = stack.devstack.mint_id_token(
        "alice@example.com",
        IdTokenOptions {
            issued_at_offset_secs: -7200,
            ..IdTokenOptions::default()
        },
    );
    assert_refused(
        stack.ask(&long_expired, "hi").await,
        "IdTokenRejected",
        "sign in again",
    );
    assert_eq!(
        stack.calls(),
        (0, 0, 0),
        "refused on the pre-check, before any network call"
    );

    // Expired 20 s ago: inside our clock leeway, so Okta decides, and refuses.
    let just_expired = stack.devstack.mint_id_token(
        "alice@example.com",
        IdTokenOptions {
            issued_at_offset_secs: -3620,
            ..IdTokenOptions::default()
        },
    );
    assert_refused(
        stack.ask(&just_expired, "hi").await,
        "IdTokenRejected",
        "sign in again",
    );
    assert_eq!(stack.calls(), (1, 0, 0));
}

#[tokio::test]
async fn a_single_okta_503_or_429_is_retried_and_the_user_gets_the_answer() {
    let stack = Stack::start().await;
    stack.devstack.set_okta_fault(OktaFault::Status {
        status: 503,
        times: 1,
        retry_after_secs: None,
    });
    assert_eq!(
        answer(stack.ask(&stack.id_token("alice@example.com"), "hi").await),
        "You are signed in as alice@example.com."
    );
    assert_eq!(stack.calls(), (2, 1, 1), "leg 1 was tried twice");

    stack.devstack.set_okta_fault(OktaFault::Status {
        status: 429,
        times: 1,
        retry_after_secs: Some(1),
    });
    assert_eq!(
        answer(stack.ask(&stack.id_token("bob@example.com"), "hi").await),
        "You are signed in as bob@example.com."
    );
    assert_eq!(stack.calls(), (4, 2, 2));

    // Okta down for longer than three attempts: a typed, retryable error.
    stack.devstack.set_okta_fault(OktaFault::Status {
        status: 502,
        times: 10,
        retry_after_secs: None,
    });
    let fresh_alice = stack.devstack.mint_id_token(
        "alice@example.com",
        IdTokenOptions {
            lifetime_secs: 1800,
            ..IdTokenOptions::default()
        },
    );
    let (ty, _) = refusal(stack.ask(&fresh_alice, "hi").await);
    assert_eq!(ty, "OktaUnavailable");
    assert_eq!(stack.calls(), (7, 2, 2), "at most three attempts");
}

#[tokio::test]
async fn bedrock_throttling_before_the_stream_is_retried_by_the_sdk() {
    let stack = Stack::start().await;
    stack
        .devstack
        .set_bedrock_fault(BedrockFault::ThrottleBeforeStream { times: 1 });
    assert_eq!(
        answer(stack.ask(&stack.id_token("alice@example.com"), "hi").await),
        "You are signed in as alice@example.com."
    );
    assert_eq!(stack.calls().2, 2);
}

#[tokio::test]
async fn an_exception_before_any_chunk_is_retried_once_and_after_a_chunk_it_is_typed() {
    let stack = Stack::start().await;
    let alice = stack.id_token("alice@example.com");
    stack
        .devstack
        .set_bedrock_fault(BedrockFault::ExceptionMidStream {
            exception_type: "throttlingException".into(),
            times: 1,
            after_chunks: 0,
        });
    assert_eq!(
        answer(stack.ask(&alice, "hi").await),
        "You are signed in as alice@example.com."
    );
    assert_eq!(stack.calls().2, 2, "retried once");

    stack
        .devstack
        .set_bedrock_fault(BedrockFault::ExceptionMidStream {
            exception_type: "throttlingException".into(),
            times: 1,
            after_chunks: 1,
        });
    assert_refused(
        stack.ask(&alice, "hi").await,
        "AgentThrottled",
        "retry later",
    );
    assert_eq!(
        stack.calls().2,
        3,
        "part of the answer was streamed: no retry"
    );

    stack
        .devstack
        .set_bedrock_fault(BedrockFault::ExceptionMidStream {
            exception_type: "internalServerException".into(),
            times: 1,
            after_chunks: 2,
        });
    let (ty, _) = refusal(stack.ask(&alice, "hi").await);
    assert_eq!(ty, "AgentFailed");
}

#[tokio::test]
async fn an_unknown_agent_is_agent_not_found_and_a_slow_one_hits_the_deadline() {
    let stack = Stack::start().await;
    let alice = stack.id_token("alice@example.com");
    stack.devstack.set_bedrock_fault(BedrockFault::UnknownAgent);
    assert_refused(
        stack.ask(&alice, "hi").await,
        "AgentNotFound",
        "BEDROCK_AGENT_ID",
    );

    stack
        .devstack
        .set_bedrock_fault(BedrockFault::Slow(Duration::from_secs(30)));
    let (ty, message) = refusal(
        stack
            .ask_until(
                &alice,
                "hi",
                bridge::Deadline::after(Duration::from_millis(1500)),
            )
            .await,
    );
    assert_eq!(ty, "Timeout");
    assert!(message.contains("raise the function timeout"), "{message}");
}

#[tokio::test]
async fn the_bridge_reads_its_key_from_moto_by_arn_too() {
    let (devstack, moto) = devstack_and_moto(SECRET_NAME).await;
    let arn = moto
        .put_secret(
            "xaa-bridge/flow/by-arn",
            &devstack.agent_private_jwk().to_string(),
        )
        .await;
    let config = Config::from_lookup(Stack::env(
        &devstack,
        &[("AGENT_PRIVATE_KEY_SECRET_ID", &arn)],
    ))
    .unwrap();
    let bridge = Stack::bridge(&devstack, &moto, config);
    let stack = Stack {
        devstack,
        _moto: moto,
        bridge,
    };
    assert_eq!(
        answer(stack.ask(&stack.id_token("bob@example.com"), "hi").await),
        "You are signed in as bob@example.com."
    );
}

#[tokio::test]
async fn a_token_bedrock_denied_is_dropped_from_the_cache() {
    let stack = Stack::start().await;
    let alice = stack.id_token("alice@example.com");
    answer(stack.ask(&alice, "hi").await);
    assert_eq!(stack.calls(), (1, 1, 1));
    stack
        .devstack
        .set_bedrock_fault(BedrockFault::ExceptionMidStream {
            exception_type: "accessDeniedException".into(),
            times: 1,
            after_chunks: 0,
        });
    assert_refused(stack.ask(&alice, "hi").await, "AgentAccessDenied", "");
    assert_eq!(
        stack.calls(),
        (1, 1, 2),
        "the denied call used the cached token"
    );
    // The next call does not replay the denied token: it asks Okta again.
    answer(stack.ask(&alice, "hi").await);
    assert_eq!(stack.calls(), (2, 2, 3));
}
