//! The bare `InvokeAgent` baseline, and the driver's own leg 1 + leg 2 for its access
//! token, through the workspace's one path: `xaa`'s key, assertions, form bodies and
//! token-response reading.

use std::time::{Duration, Instant};

use bytes::Bytes;
use devstack::Settings;
use serde_json::json;
use xaa::{Leg, OktaConfig, SigningKey};

use crate::http::{split_url, Http};
use crate::{Res, PROMPT};

const FORM: [(&str, &str); 1] = [("content-type", "application/x-www-form-urlencoded")];

/// `InvokeAgent` straight at the Bedrock stand-in: what the agent call costs without
/// any Lambda, SDK or bridge around it.
pub struct BareAgent {
    http: Http,
    path: String,
    body: String,
}

impl BareAgent {
    /// Gets an access token the way the bridge does (leg 1, leg 2), then keeps one
    /// connection open.
    pub async fn new(settings: &Settings, id_token: &str) -> Res<BareAgent> {
        let access_token = access_token(settings, id_token).await?;
        let (bedrock_addr, _) = split_url(&settings.bedrock_endpoint_url)?;
        Ok(BareAgent {
            http: Http::connect(bedrock_addr).await?,
            path: format!(
                "/agents/{}/agentAliases/{}/sessions/bench-bare-agent/text",
                settings.bedrock_agent_id, settings.bedrock_agent_alias_id
            ),
            body: json!({
                "inputText": PROMPT,
                "sessionState": {"sessionAttributes": {"oktaAccessToken": access_token.token.as_str()}},
            })
            .to_string(),
        })
    }

    pub async fn call(&mut self) -> Res<Duration> {
        let started = Instant::now();
        let (status, _) = self
            .http
            .post(
                &self.path,
                &[
                    ("content-type", "application/json"),
                    (
                        "authorization",
                        "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/bedrock/aws4_request, SignedHeaders=host, Signature=00",
                    ),
                ],
                self.body.clone(),
            )
            .await?;
        let took = started.elapsed();
        if status != 200 {
            return Err(format!("bare InvokeAgent answered HTTP {status}").into());
        }
        Ok(took)
    }
}

/// An access token for the person of `id_token`, obtained the way the bridge does (leg 1,
/// leg 2) with the AI agent's key from the settings.
pub async fn access_token(settings: &Settings, id_token: &str) -> Res<xaa::Issued> {
    let okta = OktaConfig::new(
        xaa::org::parse_base_url(&settings.okta_base_url)?,
        &settings.okta_custom_as_id,
        settings.okta_scope.clone(),
        settings.agent_client_id.clone(),
        settings.agent_key_id.clone(),
        None,
    )?;
    let key = SigningKey::from_jwk_json(
        settings.agent_private_jwk.to_string().as_bytes(),
        &okta.agent_key_id,
    )?;
    let assertion = |token_url: &str| {
        xaa::mint_assertion(
            &key,
            &okta.agent_client_id,
            token_url,
            &xaa::SystemClock,
            &xaa::RandomJti,
        )
    };
    let (okta_addr, org_path) = split_url(&okta.org_token_url)?;
    let (_, custom_path) = split_url(&okta.custom_token_url)?;
    let mut http = Http::connect(okta_addr).await?;

    let leg1 = xaa::token_exchange_body(
        &okta,
        &xaa::IdToken::new(id_token),
        &assertion(&okta.org_token_url)?,
    );
    let reply = http.post(org_path, &FORM, leg1.to_string()).await?;
    let id_jag = issued(Leg::TokenExchange, reply)?;
    let leg2 = xaa::jwt_bearer_body(
        &xaa::IdJag::new(id_jag.token.as_str()),
        &assertion(&okta.custom_token_url)?,
    );
    let reply = http.post(custom_path, &FORM, leg2.to_string()).await?;
    issued(Leg::JwtBearer, reply)
}

/// The token of a 200 answer, or Okta's rejection read the way the bridge reads it.
fn issued(leg: Leg, (status, body): (u16, Bytes)) -> Res<xaa::Issued> {
    let result = if status == 200 {
        xaa::parse_success(leg, &body)
    } else {
        Err(xaa::classify_failure(leg, status, &body, None))
    };
    result.map_err(|e| format!("the driver's own exchange failed: {e}").into())
}
