//! Tokens devstack issues through the real flow (leg 1 and leg 2 at its Okta stand-in), and
//! hostile tokens derived from them, judged against devstack's custom authorization server.

use std::sync::Arc;
use std::time::Duration;

use aws_lc_rs::hmac;
use devstack::{Devstack, IdTokenOptions};
use serde_json::json;
use xaa::{Leg, OktaConfig, SigningKey, TokenTransport};

use crate::corpus::*;
use crate::issuer::b64;

/// What devstack hands out: two access tokens, the ID-JAG and ID token behind the first, and
/// a client assertion of the AI agent.
pub struct DevTokens {
    /// alice, `scp: ["xaa:read"]`.
    pub alice: String,
    /// bob, `scp: ["xaa:read", "xaa:write"]`.
    pub bob: String,
    pub id_jag: String,
    pub id_token: String,
    pub assertion: String,
}

async fn issued(
    transport: &dyn TokenTransport,
    leg: Leg,
    url: &str,
    body: zeroize::Zeroizing<String>,
) -> String {
    let reply = transport
        .post_form(url, body, Duration::from_secs(10))
        .await
        .unwrap_or_else(|e| panic!("devstack {leg:?}: {}", e.describe()));
    assert_eq!(
        reply.status, 200,
        "devstack {leg:?} answered HTTP {}",
        reply.status
    );
    let issued = xaa::parse_success(leg, &reply.body).expect("a token response");
    issued.token.as_str().to_string()
}

/// Leg 1 and leg 2 as the bridge makes them, as the AI agent, for `login` and `scope`.
async fn flow(stack: &Devstack, login: &str, scope: &str) -> (String, String, String, String) {
    let settings = stack.settings();
    let okta = OktaConfig::new(
        xaa::org::parse_base_url(&settings.okta_base_url).expect("base url"),
        &settings.okta_custom_as_id,
        scope.to_string(),
        settings.agent_client_id.clone(),
        settings.agent_key_id.clone(),
        None,
    )
    .expect("okta config");
    let key = SigningKey::from_jwk_json(
        settings.agent_private_jwk.to_string().as_bytes(),
        &okta.agent_key_id,
    )
    .expect("agent key");
    let assertion = |url: &str| {
        xaa::mint_assertion(
            &key,
            &okta.agent_client_id,
            url,
            &xaa::SystemClock,
            &xaa::RandomJti,
        )
        .expect("client assertion")
    };
    let transport: Arc<dyn TokenTransport> =
        Arc::new(xaa::ReqwestTransport::new(Duration::from_secs(5), true).expect("transport"));
    let id_token = stack.mint_id_token(login, IdTokenOptions::default());
    let leg1 = xaa::token_exchange_body(
        &okta,
        &xaa::IdToken::new(id_token.as_str()),
        &assertion(&okta.org_token_url),
    );
    let id_jag = issued(&*transport, Leg::TokenExchange, &okta.org_token_url, leg1).await;
    let leg2 = xaa::jwt_bearer_body(
        &xaa::IdJag::new(id_jag.as_str()),
        &assertion(&okta.custom_token_url),
    );
    let access = issued(&*transport, Leg::JwtBearer, &okta.custom_token_url, leg2).await;
    let spare = assertion(&okta.custom_token_url).expose().to_string();
    (access, id_jag, id_token, spare)
}

pub async fn dev_tokens(stack: &Devstack) -> DevTokens {
    let (alice, id_jag, id_token, assertion) = flow(stack, "alice@example.com", "xaa:read").await;
    let (bob, ..) = flow(stack, "bob@example.com", "xaa:read xaa:write").await;
    DevTokens {
        alice,
        bob,
        id_jag,
        id_token,
        assertion,
    }
}

/// Okta's verifier (jwks-rsa) fetches the JWKS at most 10 times a minute per verifier, and
/// each unknown `kid` costs a fetch: keep such tokens under 9 per policy, or Okta's verdict
/// turns into `jwks_unavailable`.
pub fn cases(stack: &Devstack, t: &DevTokens) -> Vec<Case> {
    use Okta::{Accept, NoVerdict, Reject};
    let s = segments(&t.alice);
    let header = header_of(&t.alice);
    let claims = claims_of(&t.alice);

    let mut uid_swapped = claims.clone();
    uid_swapped["uid"] = json!("00ubob000002");
    let sig = s[2];
    let truncated = format!("{}.{}.{}", s[0], s[1], &sig[..sig.len() - 8]);
    let mut none_header = header.clone();
    none_header["alg"] = json!("none");
    let alg_none = format!("{}.{}.", b64(none_header.to_string().as_bytes()), s[1]);
    // HS256 keyed with the JWKS document: what a verifier that takes alg from the token
    // would check it with.
    let mut hs_header = header.clone();
    hs_header["alg"] = json!("HS256");
    let hs_input = format!("{}.{}", b64(hs_header.to_string().as_bytes()), s[1]);
    let hs_key = hmac::Key::new(
        hmac::HMAC_SHA256,
        stack.custom_as_jwks()["keys"][0].to_string().as_bytes(),
    );
    let hs256 = format!(
        "{hs_input}.{}",
        b64(hmac::sign(&hs_key, hs_input.as_bytes()).as_ref())
    );
    let mut kid_header = header.clone();
    kid_header["kid"] = json!("kid-nobody-published");

    vec![
        case(
            "devstack access token (alice, xaa:read)",
            DEV,
            t.alice.clone(),
            Accept,
            Ours::Accept,
        ),
        case(
            "devstack access token (bob, xaa:read xaa:write)",
            DEV,
            t.bob.clone(),
            Accept,
            Ours::Accept,
        ),
        case(
            "devstack token (bob), policy needs xaa:read + xaa:write",
            DEV_RW,
            t.bob.clone(),
            Accept,
            Ours::Accept,
        ),
        case(
            "devstack token without xaa:write, policy needs it",
            DEV_RW,
            t.alice.clone(),
            Reject("scope_missing"),
            Ours::Refuse(&["scope_missing"]),
        ),
        case(
            "devstack token, policy audience api://default",
            DEV_OTHER_AUD,
            t.alice.clone(),
            Reject("wrong_audience"),
            Ours::Refuse(&["wrong_audience"]),
        ),
        case(
            "devstack token, agent not in the allow-list (bad cid)",
            DEV_OTHER_CLIENT,
            t.alice.clone(),
            Reject("client_not_allowed"),
            Ours::Refuse(&["client_not_allowed"]),
        ),
        case(
            "devstack token, uid changed after signing",
            DEV,
            with_claims(&t.alice, &uid_swapped),
            Reject("bad_signature"),
            Ours::Refuse(&["bad_signature"]),
        ),
        case(
            "devstack token, signature truncated by 8 characters",
            DEV,
            truncated,
            Reject("bad_signature"),
            Ours::Refuse(&["bad_signature", "token_malformed"]),
        ),
        case(
            "devstack token, empty signature segment",
            DEV,
            format!("{}.{}.", s[0], s[1]),
            NoVerdict,
            Ours::Refuse(&["token_malformed", "bad_signature"]),
        ),
        case(
            "devstack token, 2 segments (signature dropped)",
            DEV,
            format!("{}.{}", s[0], s[1]),
            NoVerdict,
            Ours::Refuse(&["token_malformed"]),
        ),
        case(
            "devstack token, 4 segments",
            DEV,
            format!("{}.{}", t.alice, s[2]),
            Reject("token_malformed"),
            Ours::Refuse(&["token_malformed"]),
        ),
        case(
            "devstack claims, alg none, no signature",
            DEV,
            alg_none,
            Reject("alg_not_allowed"),
            Ours::Refuse(&["alg_not_allowed"]),
        ),
        case(
            "devstack claims re-signed HS256 keyed with the JWKS",
            DEV,
            hs256,
            Reject("alg_not_allowed"),
            Ours::Refuse(&["alg_not_allowed"]),
        ),
        case(
            "devstack token, kid nobody published",
            DEV,
            with_header(&t.alice, &kid_header),
            Reject("unknown_kid"),
            Ours::Refuse(&["unknown_kid"]),
        ),
        case(
            "devstack ID-JAG presented as an access token",
            DEV,
            t.id_jag.clone(),
            Reject("unknown_kid"),
            Ours::Refuse(&["id_jag_presented", "unknown_kid"]),
        ),
        case(
            "devstack ID token presented as an access token",
            DEV,
            t.id_token.clone(),
            Reject("unknown_kid"),
            Ours::Refuse(&[
                "id_token_presented",
                "unknown_kid",
                "wrong_issuer",
                "wrong_audience",
            ]),
        ),
        case(
            "the agent's client assertion presented as an access token",
            DEV,
            t.assertion.clone(),
            Reject("unknown_kid"),
            Ours::Refuse(&[
                "unknown_kid",
                "header_not_allowed",
                "wrong_issuer",
                "wrong_audience",
                "claim_missing",
            ]),
        ),
    ]
}
