//! `xaa`: try each credential an Okta AI agent can get, against an org or devstack,
//! before wiring it into an agent (as `get-id-token` does for sign-in).
//!
//! ```text
//! main.rs     the command line (clap) and the exit code
//! run.rs      builds the org, client and key from the environment; runs a command,
//!             with the consent loop
//! sources.rs  secrets from files, stdin or Secrets Manager (never from argv)
//! output.rs   the JSON description (values only with --reveal), exit codes per kind
//! ```

mod output;
mod run;
mod sources;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

const ABOUT: &str =
    "Try each credential an Okta AI agent can get, against your Okta org or devstack.";

const LONG_ABOUT: &str = "\
Try each credential an Okta AI agent can get, against your Okta org or devstack, before
wiring it into an agent. It uses the same environment as the bridge Lambda:

  OKTA_BASE_URL (http only for loopback, e.g. devstack) or OKTA_DOMAIN (example.okta.com)
  AGENT_CLIENT_ID              the AI agent's client id (wlp...)
  AGENT_KEY_ID                 the key id registered on the AI agent
  AGENT_PRIVATE_KEY_SECRET_ID  Secrets Manager secret with the agent's private JWK
                               (or pass --key-file PATH)
  OKTA_CUSTOM_AS_ID, OKTA_SCOPE  defaults for --auth-server and --scope

Secrets are never taken from the command line: the subject token comes from
--subject-token-file or stdin, a client secret from --client-secret-file or the
Secrets Manager secret named by CLIENT_SECRET_SECRET_ID.

Examples:
  get-id-token --headless | xaa token --grant id-jag --scope xaa:read
  xaa token --grant vaulted-secret --resource orn:okta:pam:ORG:secrets:ID < id_token.txt
  xaa token --grant oauth-sts --resource RESOURCE --wait-for-consent --subject-token-file t.txt
  xaa token --grant client-credentials --auth-method client_secret_jwt \\
      --client-id 0oa... --client-secret-file secret.txt --scope finance.read --act-sub 00u...
  xaa revoke --token-file sts_token.txt";

#[derive(Parser)]
#[command(name = "xaa", version, about = ABOUT, long_about = LONG_ABOUT, after_long_help = output::exit_code_help())]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Get one credential and print a JSON description of it (values only with --reveal)
    Token(TokenArgs),
    /// Revoke a third-party (oauth-sts) token, read from --token-file or stdin
    Revoke(RevokeArgs),
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Grant {
    /// Token exchange for an ID-JAG (Cross App Access) for a custom authorization server
    IdJag,
    /// Token exchange for a secret vaulted in Okta Privileged Access
    VaultedSecret,
    /// Token exchange for a service account's username and password
    ServiceAccount,
    /// Token exchange for a third-party token brokered by Okta (may need consent)
    OauthSts,
    /// Client credentials grant at a custom authorization server (no subject token)
    ClientCredentials,
}

impl Grant {
    pub fn name(self) -> &'static str {
        match self {
            Grant::IdJag => "id-jag",
            Grant::VaultedSecret => "vaulted-secret",
            Grant::ServiceAccount => "service-account",
            Grant::OauthSts => "oauth-sts",
            Grant::ClientCredentials => "client-credentials",
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
pub enum SubjectType {
    /// The person's ID token (user access)
    #[value(name = "id_token")]
    IdToken,
    /// An access token of a custom authorization server for the agent's resource (machine access)
    #[value(name = "access_token")]
    AccessToken,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum AuthMethod {
    #[value(name = "client_secret_basic")]
    ClientSecretBasic,
    #[value(name = "client_secret_post")]
    ClientSecretPost,
    /// Signed with the agent's key (AGENT_KEY_ID, AGENT_PRIVATE_KEY_SECRET_ID or --key-file)
    #[value(name = "private_key_jwt")]
    PrivateKeyJwt,
    /// HS256 assertion keyed with the client secret
    #[value(name = "client_secret_jwt")]
    ClientSecretJwt,
}

#[derive(Args)]
pub struct Common {
    /// The agent's private JWK from this file instead of AGENT_PRIVATE_KEY_SECRET_ID
    #[arg(long, value_name = "PATH")]
    pub key_file: Option<PathBuf>,
    /// The key id registered for that key (the header `kid`)
    #[arg(long, env = "AGENT_KEY_ID", value_name = "KID")]
    pub key_id: Option<String>,
    /// Give up after this many seconds (per request to Okta)
    #[arg(long, value_name = "SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=600))]
    pub timeout: u64,
}

#[derive(Args)]
pub struct TokenArgs {
    /// Which credential to get
    #[arg(long, value_enum)]
    pub grant: Grant,
    /// The resource of the agent's managed connection (vaulted-secret, service-account,
    /// oauth-sts), exactly as configured, e.g. orn:okta:pam:ORG:secrets:ID
    #[arg(long)]
    pub resource: Option<String>,
    /// id-jag: the custom authorization server's issuer [default: {org}/oauth2/{--auth-server}]
    #[arg(long, value_name = "ISSUER_URL")]
    pub audience: Option<String>,
    /// Custom scope(s), space separated (id-jag: required, default OKTA_SCOPE; never openid)
    #[arg(long)]
    pub scope: Option<String>,
    /// File holding the subject token; `-` or absent: the first line of stdin
    #[arg(long, value_name = "PATH")]
    pub subject_token_file: Option<PathBuf>,
    /// What the subject token is
    #[arg(long, value_enum, default_value = "id_token")]
    pub subject_token_type: SubjectType,
    /// client-credentials: put {"act":{"sub":SUB}} (an Okta user id) in the assertion.
    /// Note: the inverse of RFC 8693 (sub = agent, act = human) and self-asserted by the agent
    #[arg(long, value_name = "SUB")]
    pub act_sub: Option<String>,
    /// client-credentials: how the client authenticates
    #[arg(long, value_enum, default_value = "client_secret_basic")]
    pub auth_method: AuthMethod,
    /// client-credentials: the client id [default: AGENT_CLIENT_ID]
    #[arg(long, env = "CLIENT_ID")]
    pub client_id: Option<String>,
    /// client-credentials: file holding the client secret (else CLIENT_SECRET_SECRET_ID)
    #[arg(long, value_name = "PATH")]
    pub client_secret_file: Option<PathBuf>,
    /// Custom authorization server id (client-credentials, the id-jag default audience, --redeem)
    #[arg(long, env = "OKTA_CUSTOM_AS_ID", value_name = "ID")]
    pub auth_server: Option<String>,
    /// id-jag: also redeem the ID-JAG at --auth-server for an access token (as the bridge does)
    #[arg(long)]
    pub redeem: bool,
    /// Print the secret values too (tokens, passwords); without it only their names
    #[arg(long)]
    pub reveal: bool,
    /// On ConsentRequired: print the URL, wait for Enter on stdin, send the same request again
    #[arg(long)]
    pub wait_for_consent: bool,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Args)]
pub struct RevokeArgs {
    /// File holding the oauth-sts token; `-` or absent: the first line of stdin
    #[arg(long, value_name = "PATH")]
    pub token_file: Option<PathBuf>,
    #[command(flatten)]
    pub common: Common,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Token(args) => run::token(args).await,
        Command::Revoke(args) => run::revoke(args).await,
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("xaa: {}", failure.message);
            ExitCode::from(failure.code)
        }
    }
}
