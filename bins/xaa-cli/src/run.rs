//! The commands: read the environment the bridge Lambda uses, build one `OktaClient`,
//! send the request, print what came back. Consent is a loop: show the checked
//! `interaction_uri`, wait for the person's Enter on stdin, send the same request again.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use xaa::{
    Act, ClientAuth, ClientAuthMethod, ClientCredentialsRequest, ClientSecret, ConfigError,
    Credential, Deadline, Error, KeyStore, OktaClient, OktaConfig, OktaError, RandomJti,
    ReqwestTransport, Resource, Secret, Subject, SubjectToken, SubjectTokenType, SystemClock,
};

use crate::output::{self, describe, exit_code};
use crate::sources::{self, KeyFrom};
use crate::{AuthMethod, Common, Grant, RevokeArgs, SubjectType, TokenArgs};

/// At most this many consent rounds before giving up.
const MAX_CONSENT_ROUNDS: u32 = 5;

/// Why a command failed: the exit code and a message with nothing secret in it.
pub struct Failure {
    pub code: u8,
    pub message: String,
}

fn usage(message: impl Into<String>) -> Failure {
    Failure {
        code: output::USAGE,
        message: message.into(),
    }
}

impl From<ConfigError> for Failure {
    fn from(e: ConfigError) -> Self {
        usage(format!("configuration error: {e}"))
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure {
            code: exit_code(e.kind()),
            message: format!("{e} [{}]", e.kind()),
        }
    }
}

/// A set, non-blank environment variable, trimmed.
fn var(name: &str) -> Option<String> {
    let value = std::env::var(name).ok()?;
    Some(value.trim().to_string()).filter(|v| !v.is_empty())
}

fn required(name: &str, what: &str) -> Result<String, Failure> {
    var(name).ok_or_else(|| usage(format!("{name} is not set: {what}")))
}

/// The org, the agent and its key, as the bridge Lambda reads them. `needs_key`: the
/// request signs an assertion; `as_agent`: as the AI agent (AGENT_CLIENT_ID required).
fn client(
    common: &Common,
    auth_server: Option<&str>,
    needs_key: bool,
    as_agent: bool,
) -> Result<OktaClient, Failure> {
    let base = xaa::org::org_url_from_lookup(var)?;
    let key = match (&common.key_file, var("AGENT_PRIVATE_KEY_SECRET_ID")) {
        (Some(path), _) => KeyFrom::File(path.clone()),
        (None, Some(id)) => KeyFrom::SecretsManager(id),
        (None, None) if needs_key => {
            return Err(usage(
                "no signing key: set AGENT_PRIVATE_KEY_SECRET_ID or pass --key-file PATH (the agent's private JWK)",
            ))
        }
        (None, None) => KeyFrom::Missing,
    };
    let key_id = common.key_id.clone().filter(|k| !k.trim().is_empty());
    let (client_id, key_id) =
        match (needs_key, key_id) {
            (true, None) => return Err(usage(
                "AGENT_KEY_ID is not set: the key id registered on the AI agent (or pass --key-id)",
            )),
            (true, Some(kid)) if as_agent => (
                required("AGENT_CLIENT_ID", "the AI agent's client id (wlp...)")?,
                kid,
            ),
            (_, kid) => (
                var("AGENT_CLIENT_ID").unwrap_or_default(),
                kid.unwrap_or_default(),
            ),
        };
    let cfg = OktaConfig::new(
        base,
        auth_server.unwrap_or("default"),
        String::new(),
        client_id,
        key_id.clone(),
        None,
    )?;
    let transport =
        ReqwestTransport::new(Duration::from_secs(10), cfg.uses_plain_http()).map_err(|_| {
            Failure {
                code: output::UNEXPECTED,
                message: "cannot build the HTTP client".into(),
            }
        })?;
    Ok(OktaClient::new(
        Arc::new(cfg),
        Arc::new(transport),
        Arc::new(KeyStore::new(
            Arc::new(key),
            key_id,
            Duration::from_secs(3600),
        )),
        Arc::new(SystemClock),
        Arc::new(RandomJti),
        Duration::from_secs(common.timeout),
    ))
}

fn deadline(common: &Common) -> Deadline {
    Deadline::after(Duration::from_secs(common.timeout))
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn print(value: &serde_json::Value) {
    println!("{value}");
}

/// Flags that belong to other grants are refused rather than silently ignored.
fn refuse_flags(args: &TokenArgs) -> Result<(), Failure> {
    let cc = args.grant == Grant::ClientCredentials;
    let misplaced = [
        (cc && args.resource.is_some(), "--resource"),
        (cc && args.audience.is_some(), "--audience"),
        (
            cc && args.subject_token_file.is_some(),
            "--subject-token-file",
        ),
        (cc && args.wait_for_consent, "--wait-for-consent"),
        (!cc && args.act_sub.is_some(), "--act-sub"),
        (
            !cc && args.client_secret_file.is_some(),
            "--client-secret-file",
        ),
        (args.grant != Grant::IdJag && args.redeem, "--redeem"),
        (
            args.grant != Grant::IdJag && args.audience.is_some(),
            "--audience",
        ),
        (
            matches!(args.grant, Grant::IdJag | Grant::ClientCredentials)
                && args.resource.is_some(),
            "--resource",
        ),
    ];
    match misplaced.iter().find(|(bad, _)| *bad) {
        Some((_, flag)) => Err(usage(format!(
            "{flag} does not apply to --grant {}",
            args.grant.name()
        ))),
        None => Ok(()),
    }
}

pub async fn token(args: TokenArgs) -> Result<(), Failure> {
    refuse_flags(&args)?;
    let credential = match args.grant {
        Grant::ClientCredentials => client_credentials(&args).await?,
        _ => exchange(&args).await?,
    };
    print(&describe(
        args.grant.name(),
        &credential,
        now(),
        args.reveal,
    ));
    Ok(())
}

fn resource(args: &TokenArgs, base: &str) -> Result<Resource, Failure> {
    let need = || {
        args.resource.as_deref().ok_or_else(|| {
            usage(format!(
                "--grant {} needs --resource (the resource of the agent's managed connection)",
                args.grant.name()
            ))
        })
    };
    Ok(match args.grant {
        Grant::IdJag => {
            let audience = match (&args.audience, &args.auth_server) {
                (Some(a), _) => a.clone(),
                (None, Some(id)) => format!("{base}/oauth2/{id}"),
                (None, None) => return Err(usage("--grant id-jag needs --audience ISSUER_URL or --auth-server ID (OKTA_CUSTOM_AS_ID)")),
            };
            let scope = args.scope.clone().or_else(|| var("OKTA_SCOPE"));
            let scope = scope.ok_or_else(|| {
                usage("--grant id-jag needs --scope (or OKTA_SCOPE), e.g. xaa:read")
            })?;
            Resource::id_jag(&audience, &scope)?
        }
        Grant::VaultedSecret => Resource::vaulted_secret(need()?)?,
        Grant::ServiceAccount => Resource::service_account(need()?)?,
        Grant::OauthSts => Resource::oauth_sts(need()?, args.scope.as_deref())?,
        Grant::ClientCredentials => unreachable!("client credentials take no resource"),
    })
}

async fn exchange(args: &TokenArgs) -> Result<Credential, Failure> {
    let client = client(&args.common, args.auth_server.as_deref(), true, true)?;
    let resource = resource(args, &client.config().base_url)?;
    let kind = match args.subject_token_type {
        SubjectType::IdToken => SubjectTokenType::IdToken,
        SubjectType::AccessToken => SubjectTokenType::AccessToken,
    };
    let raw = sources::token(args.subject_token_file.as_ref(), "subject token").map_err(usage)?;
    let subject = Subject::new(SubjectToken::new(raw.as_str()), kind)?;
    let mut round = 0;
    let credential = loop {
        round += 1;
        match client
            .exchange_credential(&subject, &resource, deadline(&args.common))
            .await
        {
            Err(Error::Okta(OktaError::ConsentRequired {
                interaction_uri, ..
            })) => {
                consent(
                    interaction_uri.as_str(),
                    args.wait_for_consent && round < MAX_CONSENT_ROUNDS,
                )?;
            }
            other => break other?,
        }
    };
    if !args.redeem {
        return Ok(credential);
    }
    let Secret::IdJag(id_jag) = &credential.secret else {
        return Err(usage("--redeem needs an ID-JAG"));
    };
    if let Resource::IdJag { audience, .. } = &resource {
        if *audience != client.config().custom_issuer {
            return Err(usage("--redeem redeems at --auth-server: --audience must be its issuer (or leave --audience out)"));
        }
    }
    let grant = client.redeem(id_jag, deadline(&args.common)).await?;
    Ok(Credential {
        secret: Secret::AccessToken(grant.token),
        issued_token_type: None,
        expires_at: grant.expires_at,
        scope: None,
    })
}

/// Show the consent URL; with `wait`, block until the person presses Enter.
fn consent(uri: &str, wait: bool) -> Result<(), Failure> {
    if !wait {
        print(&serde_json::json!({"error": "ConsentRequired", "interaction_uri": uri}));
        return Err(Failure {
            code: output::CONSENT,
            message: "the person must consent first: open the interaction_uri printed on stdout in a browser, then run the same command again (or use --wait-for-consent) [ConsentRequired]".into(),
        });
    }
    eprintln!("xaa: the person must consent. Open this URL in a browser and consent:\n{uri}");
    eprintln!("xaa: then press Enter to send the same request again (end of input gives up)");
    match sources::stdin_line().map_err(usage)? {
        Some(_) => Ok(()),
        None => Err(Failure {
            code: output::CONSENT,
            message: "no confirmation on stdin: giving up without consent [ConsentRequired]".into(),
        }),
    }
}

async fn client_credentials(args: &TokenArgs) -> Result<Credential, Failure> {
    let method = match args.auth_method {
        AuthMethod::ClientSecretBasic => ClientAuthMethod::SecretBasic,
        AuthMethod::ClientSecretPost => ClientAuthMethod::SecretPost,
        AuthMethod::PrivateKeyJwt => ClientAuthMethod::PrivateKeyJwt,
        AuthMethod::ClientSecretJwt => ClientAuthMethod::SecretJwt,
    };
    let auth_server = args.auth_server.as_deref().ok_or_else(|| {
        usage("--grant client-credentials needs --auth-server ID (or OKTA_CUSTOM_AS_ID), e.g. default")
    })?;
    let client = client(
        &args.common,
        Some(auth_server),
        !method.needs_secret(),
        false,
    )?;
    let client_id = match &args.client_id {
        Some(id) => id.clone(),
        None => required(
            "AGENT_CLIENT_ID",
            "or pass --client-id (CLIENT_ID): the client's id",
        )?,
    };
    let secret = if method.needs_secret() {
        Some(client_secret(args).await?)
    } else {
        None
    };
    let auth = ClientAuth::new(method, secret)?;
    let act = args.act_sub.as_deref().map(Act::subject).transpose()?;
    let base = client.config().base_url.clone();
    let request = ClientCredentialsRequest::new(
        &base,
        auth_server,
        &client_id,
        args.scope.as_deref(),
        auth,
        act,
    )?;
    Ok(client
        .client_credentials(&request, deadline(&args.common))
        .await?)
}

async fn client_secret(args: &TokenArgs) -> Result<ClientSecret, Failure> {
    let text = match (&args.client_secret_file, var("CLIENT_SECRET_SECRET_ID")) {
        (Some(path), _) => sources::read_file(path, "client secret").map_err(usage)?,
        (None, Some(id)) => {
            let client = sources::secrets_manager().await;
            let bytes = sources::secret_string(&client, &id, "CLIENT_SECRET_SECRET_ID")
                .await
                .map_err(|e| Failure { code: exit_code("KeyError"), message: format!("client secret: {e} [KeyError]") })?;
            let text = std::str::from_utf8(bytes.expose())
                .map_err(|_| usage("the client secret is not UTF-8 text"))?;
            zeroize::Zeroizing::new(text.to_string())
        }
        (None, None) => {
            return Err(usage(
                "this --auth-method needs the client secret: pass --client-secret-file PATH or set CLIENT_SECRET_SECRET_ID (never on the command line)",
            ))
        }
    };
    Ok(ClientSecret::new(text.trim()))
}

pub async fn revoke(args: RevokeArgs) -> Result<(), Failure> {
    let client = client(&args.common, None, true, true)?;
    let raw = sources::token(args.token_file.as_ref(), "token to revoke").map_err(usage)?;
    let token = xaa::AccessToken::new(raw.as_str());
    client
        .revoke_oauth_sts(&token, deadline(&args.common))
        .await?;
    print(&serde_json::json!({"revoked": true, "token_type_hint": xaa::OAUTH_STS_HINT}));
    Ok(())
}
