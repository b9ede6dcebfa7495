//! The client credentials grant (machine to machine) at a custom authorization server,
//! with each client authentication method Okta offers: `client_secret_basic`,
//! `client_secret_post`, `private_key_jwt` (RS256/ES256, the client's signing key) and
//! `client_secret_jwt` (HS256, keyed with the client secret).
//!
//! An assertion may carry an `act` claim given by the caller (the AGBAC set-up maps it
//! into the access token with a custom claim `clientAssertion.claims.act`). Beware its
//! roles are the inverse of RFC 8693: there `sub` is the party the token is about and
//! `act` the party acting for it (the agent); here `sub` is the agent and `act` names
//! the human, and that human identity is only asserted by the agent itself, never
//! checked by Okta. Treat it as the agent's claim, not as an authentication of the human.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;
use zeroize::Zeroizing;

use crate::assertion::{AssertionClaims, ASSERTION_LIFETIME_SECS};
use crate::clock::{Clock, JtiSource};
use crate::credentials::parse_scope_list;
use crate::key::{KeyError, SigningKey};
use crate::org::{err, is_okta_id, ConfigError};
use crate::sensitive::{ClientAssertion, ClientSecret};

pub const CLIENT_CREDENTIALS_GRANT: &str = "client_credentials";
/// RFC 7518 section 3.2: an HS256 key must be at least as long as the hash (256 bits).
pub const MIN_HS256_SECRET_BYTES: usize = 32;

/// How the client authenticates at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClientAuthMethod {
    SecretBasic,
    SecretPost,
    PrivateKeyJwt,
    SecretJwt,
}

impl ClientAuthMethod {
    /// Okta's `token_endpoint_auth_method` names.
    pub fn parse(raw: &str) -> Result<Self, ConfigError> {
        match raw {
            "client_secret_basic" => Ok(Self::SecretBasic),
            "client_secret_post" => Ok(Self::SecretPost),
            "private_key_jwt" => Ok(Self::PrivateKeyJwt),
            "client_secret_jwt" => Ok(Self::SecretJwt),
            _ => Err(err(
                "auth_method",
                "must be client_secret_basic, client_secret_post, private_key_jwt or client_secret_jwt",
            )),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::SecretBasic => "client_secret_basic",
            Self::SecretPost => "client_secret_post",
            Self::PrivateKeyJwt => "private_key_jwt",
            Self::SecretJwt => "client_secret_jwt",
        }
    }

    pub fn needs_secret(self) -> bool {
        self != Self::PrivateKeyJwt
    }

    /// The methods that send a client assertion, and so can carry `act`.
    pub fn uses_assertion(self) -> bool {
        matches!(self, Self::PrivateKeyJwt | Self::SecretJwt)
    }
}

/// A method with what it needs: the secret, or (private_key_jwt) the client's key.
#[derive(Debug, Clone)]
pub enum ClientAuth {
    SecretBasic(ClientSecret),
    SecretPost(ClientSecret),
    PrivateKeyJwt,
    SecretJwt(ClientSecret),
}

impl ClientAuth {
    pub fn new(
        method: ClientAuthMethod,
        secret: Option<ClientSecret>,
    ) -> Result<Self, ConfigError> {
        const VAR: &str = "client_secret";
        let secret = match (method.needs_secret(), secret) {
            (false, _) => return Ok(ClientAuth::PrivateKeyJwt),
            (true, None) => {
                return Err(err(
                    VAR,
                    format!(
                        "{} needs the client secret (from a file or Secrets Manager)",
                        method.name()
                    ),
                ))
            }
            (true, Some(secret)) => secret,
        };
        if secret.is_empty() || !secret.expose().bytes().all(|b| b.is_ascii_graphic()) {
            return Err(err(
                VAR,
                "must be printable ASCII without spaces (check the file or secret)",
            ));
        }
        Ok(match method {
            ClientAuthMethod::SecretBasic => ClientAuth::SecretBasic(secret),
            ClientAuthMethod::SecretPost => ClientAuth::SecretPost(secret),
            ClientAuthMethod::SecretJwt if secret.len() < MIN_HS256_SECRET_BYTES => {
                return Err(err(
                    VAR,
                    "is shorter than 32 bytes, too short to key an HS256 assertion (client_secret_jwt); generate a longer client secret",
                ))
            }
            ClientAuthMethod::SecretJwt => ClientAuth::SecretJwt(secret),
            ClientAuthMethod::PrivateKeyJwt => ClientAuth::PrivateKeyJwt,
        })
    }

    pub fn method(&self) -> ClientAuthMethod {
        match self {
            ClientAuth::SecretBasic(_) => ClientAuthMethod::SecretBasic,
            ClientAuth::SecretPost(_) => ClientAuthMethod::SecretPost,
            ClientAuth::PrivateKeyJwt => ClientAuthMethod::PrivateKeyJwt,
            ClientAuth::SecretJwt(_) => ClientAuthMethod::SecretJwt,
        }
    }
}

/// The `act` claim of an assertion: a JSON object with a non-empty string `sub` (the
/// AGBAC guide: the Okta user id). `Debug` does not show it (it may hold an email).
#[derive(Clone, PartialEq, Eq)]
pub struct Act(serde_json::Map<String, serde_json::Value>);

impl std::fmt::Debug for Act {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Act(<{} members>)", self.0.len())
    }
}

impl Act {
    /// `{"sub": sub}`.
    pub fn subject(sub: &str) -> Result<Self, ConfigError> {
        let mut map = serde_json::Map::new();
        map.insert("sub".into(), sub.into());
        Self::from_object(map)
    }

    pub fn from_object(
        map: serde_json::Map<String, serde_json::Value>,
    ) -> Result<Self, ConfigError> {
        let sub_ok = map.get("sub").and_then(|v| v.as_str()).is_some_and(|s| {
            !s.is_empty() && s.len() <= 256 && s.bytes().all(|b| b.is_ascii_graphic())
        });
        if !sub_ok {
            return Err(err("act", "needs a `sub`: the Okta user id (e.g. 00u123abc456xyz), printable, at most 256 bytes"));
        }
        if serde_json::to_vec(&map).map_or(true, |v| v.len() > 4096) {
            return Err(err("act", "is larger than 4 KiB"));
        }
        Ok(Act(map))
    }

    pub fn claims(&self) -> &serde_json::Map<String, serde_json::Value> {
        &self.0
    }
}

/// One client credentials request, checked when built.
#[derive(Debug, Clone)]
pub struct ClientCredentialsRequest {
    /// `{org}/oauth2/{auth_server}/v1/token`; also the assertion's `aud`.
    pub token_url: String,
    pub client_id: String,
    pub scope: Option<String>,
    pub auth: ClientAuth,
    pub act: Option<Act>,
}

impl ClientCredentialsRequest {
    /// `org_base_url` as parsed by [`crate::org::org_url_from_lookup`]; `auth_server` a
    /// custom authorization server id (`default`, `aus...`).
    pub fn new(
        org_base_url: &str,
        auth_server: &str,
        client_id: &str,
        scope: Option<&str>,
        auth: ClientAuth,
        act: Option<Act>,
    ) -> Result<Self, ConfigError> {
        if !is_okta_id(auth_server) {
            return Err(err("auth_server", "must be a custom authorization server id (letters and digits, e.g. default or aus8abc123)"));
        }
        if client_id.is_empty()
            || client_id.len() > 128
            || !client_id.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(err(
                "client_id",
                "must be the client id of the app (printable, no spaces)",
            ));
        }
        if act.is_some() && !auth.method().uses_assertion() {
            return Err(err(
                "act",
                "is carried in the client assertion: use private_key_jwt or client_secret_jwt",
            ));
        }
        Ok(ClientCredentialsRequest {
            token_url: format!("{org_base_url}/oauth2/{auth_server}/v1/token"),
            client_id: client_id.to_string(),
            scope: scope.map(|s| parse_scope_list("scope", s)).transpose()?,
            auth,
            act,
        })
    }

    /// The grant's own parameters, before the client authentication.
    pub(crate) fn params(&self) -> Vec<(&'static str, &str)> {
        let mut p = vec![("grant_type", CLIENT_CREDENTIALS_GRANT)];
        if let Some(scope) = &self.scope {
            p.push(("scope", scope));
        }
        p
    }
}

#[derive(Serialize)]
struct WithAct<'a> {
    #[serde(flatten)]
    base: AssertionClaims<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    act: Option<&'a serde_json::Map<String, serde_json::Value>>,
}

fn claims<'a>(
    client_id: &'a str,
    aud: &'a str,
    act: Option<&'a Act>,
    clock: &dyn Clock,
    jti: &dyn JtiSource,
) -> WithAct<'a> {
    let now = clock.unix_now();
    WithAct {
        base: AssertionClaims {
            iss: client_id,
            sub: client_id,
            aud,
            iat: now,
            exp: now.saturating_add(ASSERTION_LIFETIME_SECS),
            jti: jti.next_jti(),
        },
        act: act.map(Act::claims),
    }
}

/// A `private_key_jwt` assertion with an optional `act`.
pub(crate) fn mint_with_key(
    key: &SigningKey,
    client_id: &str,
    aud: &str,
    act: Option<&Act>,
    clock: &dyn Clock,
    jti: &dyn JtiSource,
) -> Result<ClientAssertion, KeyError> {
    key.sign(&claims(client_id, aud, act, clock, jti))
}

/// A `client_secret_jwt` assertion: HS256 keyed with the client secret, no `kid`.
pub fn mint_hs256(
    secret: &ClientSecret,
    client_id: &str,
    aud: &str,
    act: Option<&Act>,
    clock: &dyn Clock,
    jti: &dyn JtiSource,
) -> Result<ClientAssertion, KeyError> {
    let mut header = Header::new(Algorithm::HS256);
    header.typ = Some("JWT".into());
    let key = EncodingKey::from_secret(secret.expose().as_bytes());
    jsonwebtoken::encode(&header, &claims(client_id, aud, act, clock, jti), &key)
        .map(ClientAssertion::new)
        .map_err(|_| KeyError::Invalid("signing the HS256 assertion failed".into()))
}

/// `Authorization: Basic` of RFC 6749 section 2.3.1: the id and the secret each
/// form-urlencoded, joined by `:`, base64.
pub fn basic_authorization(client_id: &str, secret: &ClientSecret) -> Zeroizing<String> {
    let mut pair = Zeroizing::new(String::new());
    pair.extend(form_urlencoded::byte_serialize(client_id.as_bytes()));
    pair.push(':');
    pair.extend(form_urlencoded::byte_serialize(secret.expose().as_bytes()));
    Zeroizing::new(format!("Basic {}", STANDARD.encode(pair.as_bytes())))
}
