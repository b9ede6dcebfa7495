//! `xaa`: the credentials an Okta AI agent obtains, as a library that knows nothing of
//! AWS, Lambda or HTTP servers.
//!
//! ```text
//! SigningKey (key)        a private JWK (RSA >= 2048 or EC P-256, or a one-key JWKS) that
//!                         signs client assertions; no printable form
//! KeyStore (keystore)     the key kept parsed, reloaded when old or when Okta blames it,
//!                         over any KeySource (the bridge's is Secrets Manager)
//! assertion               private_key_jwt client assertions, fresh per HTTP request
//! grants                  exact form bodies: token exchange (leg 1 or any resource), JWT
//!                         bearer (leg 2), client credentials, revocation
//! credentials             requests (Subject, Resource) and results (Credential, Secret)
//! client_credentials      client credentials: the four client auth methods, `act`
//! response                strict parsing of token responses; unverified claim peeks
//! resources               strict parsing of vaulted secrets, service accounts, oauth-sts
//! rejection               Okta's error bodies -> OktaError / Rejection, read in one place
//! consent                 interaction_required -> ConsentRequired with a checked URI
//! jwks                    RS256 verification keys of a JWKS, algorithm pinned per key
//! http                    TokenTransport: the one I/O trait (reqwest: https only unless
//!                         loopback, no redirects, 64 KiB bound, timeouts)
//! client                  OktaClient: both legs with the retry and key-reload rules
//! requests                OktaClient: any token exchange, client credentials, revoke
//! cache                   CredentialCache: never past expiry, keyed on the exact subject
//! org                     OktaConfig: the org URL (the one parser), endpoints, scope, ids
//! deadline, clock         injected time: Deadline, Clock, JtiSource
//! sensitive               redacted, zeroized newtypes for every token and secret
//! ```

mod assertion;
mod cache;
mod client;
mod client_credentials;
mod clock;
mod consent;
mod credentials;
mod deadline;
mod grants;
mod http;
mod jwks;
mod key;
mod keystore;
pub mod org;
mod rejection;
mod requests;
mod resources;
mod response;
mod sensitive;

pub use cache::{CredentialCache, CredentialKey};
pub use client_credentials::{
    basic_authorization, mint_hs256, Act, ClientAuth, ClientAuthMethod, ClientCredentialsRequest,
    CLIENT_CREDENTIALS_GRANT, MIN_HS256_SECRET_BYTES,
};
pub use consent::{classify_failure_at, InteractionUri, INTERACTION_REQUIRED};
pub use credentials::{
    parse_scope_list, Credential, Resource, Secret, SecretMap, Subject, SubjectTokenType,
    ACCESS_TOKEN_TYPE, ID_TOKEN_TYPE, MAX_SUBJECT_TOKEN_BYTES, OAUTH_STS_HINT,
    OAUTH_STS_TOKEN_TYPE, SERVICE_ACCOUNT_TOKEN_TYPE, VAULTED_SECRET_TOKEN_TYPE,
};
pub use grants::{
    client_credentials_pairs, credential_exchange_body, credential_exchange_pairs, form,
    revoke_pairs, AuthForm,
};
pub use resources::{
    parse_credential, ParsedCredential, MAX_SECRET_FIELDS, MAX_SECRET_NAME_BYTES,
    MAX_SECRET_VALUE_BYTES,
};

pub use assertion::{mint as mint_assertion, AssertionClaims, ASSERTION_LIFETIME_SECS};
pub use client::{backoff, Error, Grant, OktaClient, MAX_ATTEMPTS};
pub use clock::{Clock, JtiSource, ManualClock, RandomJti, SequentialJti, SystemClock};
pub use deadline::Deadline;
pub use grants::{
    jwt_bearer_body, token_exchange_body, CLIENT_ASSERTION_TYPE, JWT_BEARER_GRANT,
    REQUESTED_TOKEN_TYPE, SUBJECT_TOKEN_TYPE, TOKEN_EXCHANGE_GRANT,
};
pub use http::{HttpReply, ReqwestTransport, TokenTransport, TransportError, MAX_RESPONSE_BYTES};
pub use jwks::rs256_keys_by_kid;
pub use key::{KeyError, SigningKey};
pub use keystore::{BoxFuture, KeySource, KeyStore};
pub use org::{ConfigError, OktaConfig};
pub use rejection::{classify_failure, safe_code, Leg, OktaError, Rejection};
pub use response::{parse_success, unverified_claims, Issued, ID_JAG_TOKEN_TYPE};
pub use sensitive::{
    AccessToken, ClientAssertion, ClientSecret, IdJag, IdToken, SecretBytes, SecretValue,
    SubjectToken,
};
