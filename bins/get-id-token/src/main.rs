//! `get-id-token`: sign in to the OIDC web app with Authorization Code + PKCE (S256) and
//! print the user's ID token on stdout, nothing else (the Rust version of Okta's guide
//! `get_id_token.py`). Progress and errors go to stderr; tokens and codes never do.
//!
//! Env: `OKTA_BASE_URL` (http only for loopback hosts) or `OKTA_DOMAIN`,
//! `OIDC_CLIENT_ID`, `OIDC_CLIENT_SECRET`, optional `CALLBACK_PORT`.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::process::{Command, ExitCode, Stdio};
use std::time::Duration;

use aws_lc_rs::{digest, rand};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use clap::Parser;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use xaa::unverified_claims;

/// Sign in to the OIDC web app (Authorization Code + PKCE S256) and print the person's
/// ID token on stdout, nothing else.
///
/// Environment: OKTA_BASE_URL (e.g. http://127.0.0.1:18080; plain http only for loopback)
/// or OKTA_DOMAIN (e.g. dev-123.okta.com), OIDC_CLIENT_ID, OIDC_CLIENT_SECRET. The app
/// must allow http://localhost:PORT/callback as a sign-in redirect URI.
#[derive(Parser)]
#[command(name = "get-id-token", version)]
struct Opts {
    /// Callback port on localhost (0 = any free port)
    #[arg(long, env = "CALLBACK_PORT", default_value_t = 8765)]
    port: u16,
    /// No browser: fetch the authorize URL and follow its redirect (for devstack, which
    /// signs in without a prompt)
    #[arg(long)]
    headless: bool,
    /// Pass login_hint (picks the devstack user)
    #[arg(long, value_name = "USER")]
    login_hint: Option<String>,
    /// Print the sign-in URL even when stderr is not a terminal (it carries the
    /// sign-in's state and the login hint)
    #[arg(long)]
    print_url: bool,
    /// Give up after this many seconds
    #[arg(long, value_name = "SECS", default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..))]
    timeout: u64,
}

const SCOPE: &str = "openid profile email";
const PAGE: &str = "<!doctype html><p>Signed in. You can close this window.";
const FAILED: &str = "<!doctype html><p>Sign-in failed: see the terminal.";

type Res<T> = Result<T, String>;

/// Where and as whom to sign in, read from the environment once.
struct App {
    base: String,
    client_id: String,
    client_secret: String,
    http: reqwest::Client,
}

/// `map_err` helper: "what: error".
fn ctx<E: std::fmt::Display>(what: &'static str) -> impl Fn(E) -> String {
    move |e| format!("{what}: {e}")
}

/// A set, non-blank environment variable, trimmed.
fn var(name: &str) -> Option<String> {
    let value = std::env::var(name).ok()?;
    Some(value.trim().to_string()).filter(|v| !v.is_empty())
}

fn env(name: &str, what: &str) -> Res<String> {
    var(name).ok_or_else(|| format!("{name} is not set: {what}"))
}

/// `OKTA_BASE_URL` if set (https, or http for a loopback host), else `https://{OKTA_DOMAIN}`:
/// the same parser, and so the same loopback rule, as the bridge.
fn okta_base() -> Res<String> {
    xaa::org::org_url_from_lookup(var).map_err(|e| e.to_string())
}

fn random_b64(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::fill(&mut buf).expect("system randomness");
    URL_SAFE_NO_PAD.encode(buf)
}

/// Read one request head and answer it; returns the query of a `GET /callback`.
async fn serve_once(mut stream: TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut buf = [0u8; 2048];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
        let read = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf)).await;
        match read {
            Ok(Ok(n)) if n > 0 => head.extend_from_slice(&buf[..n]),
            _ => return None,
        }
    }
    let head = String::from_utf8_lossy(&head);
    let request_line: Vec<&str> = head.lines().next().unwrap_or("").split(' ').collect();
    let ["GET", target, _] = request_line[..] else {
        return respond(&mut stream, "405 Method Not Allowed", "").await;
    };
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    if path != "/callback" {
        return respond(&mut stream, "404 Not Found", "").await;
    }
    let failed = form_urlencoded::parse(query.as_bytes()).any(|(k, _)| k == "error");
    respond(&mut stream, "200 OK", if failed { FAILED } else { PAGE }).await;
    Some(query.to_string())
}

async fn respond(stream: &mut TcpStream, status: &str, body: &str) -> Option<String> {
    let (len, head) = (body.len(), "Content-Type: text/html\r\nConnection: close");
    let answer = format!("HTTP/1.1 {status}\r\n{head}\r\nContent-Length: {len}\r\n\r\n{body}");
    let _ = stream.write_all(answer.as_bytes()).await;
    let _ = stream.shutdown().await;
    None
}

/// Wait for the redirect to `/callback`; returns the code once `state` matches.
async fn wait_for_code(listeners: Vec<TcpListener>, state: String) -> Res<String> {
    let (tx, mut rx) = tokio::sync::mpsc::channel(4);
    for listener in listeners {
        let tx = tx.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let tx = tx.clone();
                tokio::spawn(async move {
                    if let Some(query) = serve_once(stream).await {
                        let _ = tx.send(query).await;
                    }
                });
            }
        });
    }
    let query = rx.recv().await.ok_or("the callback listener stopped")?;
    let params: HashMap<_, _> = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    if let Some(error) = params.get("error") {
        let description = params.get("error_description").map_or("", String::as_str);
        let description: String = description.chars().filter(|c| !c.is_control()).collect();
        return Err(format!(
            "sign-in failed: Okta answered {error}: {description:.200}"
        ));
    }
    if params.get("state") != Some(&state) {
        return Err("state mismatch: the callback is not from this sign-in; start again".into());
    }
    params
        .get("code")
        .cloned()
        .ok_or_else(|| "the callback carried no code".into())
}

/// devstack signs in without a prompt: fetch the authorize URL and deliver its one
/// redirect to our own listener, as a browser would.
async fn follow_headless(app: &App, authorize_url: &str, redirect_uri: &str) -> Res<()> {
    let resp = app.http.get(authorize_url).send().await;
    let resp = resp.map_err(ctx("cannot reach the authorize endpoint"))?;
    let status = resp.status();
    let location = resp.headers().get(reqwest::header::LOCATION);
    match location.and_then(|l| l.to_str().ok()).map(str::to_string) {
        Some(location) if status.is_redirection() && location.starts_with(redirect_uri) => {
            let delivered = app.http.get(location).send().await;
            delivered
                .map_err(ctx("cannot reach the callback listener"))
                .map(drop)
        }
        _ if status.is_success() || status.is_redirection() => {
            Err("the authorize endpoint wants a sign-in page: --headless is for devstack".into())
        }
        _ => {
            let body = resp.bytes().await.unwrap_or_default();
            Err(oauth_failure("the authorize request", status, &body))
        }
    }
}

/// `{"error","error_description"}` of a refused request, as a one-line hint.
fn oauth_failure(what: &str, status: reqwest::StatusCode, body: &[u8]) -> String {
    let json: Value = serde_json::from_slice(body).unwrap_or_default();
    let code = json["error"].as_str().filter(|c| !c.is_empty());
    let hint = match code {
        Some("invalid_client") => "check OIDC_CLIENT_ID and OIDC_CLIENT_SECRET",
        Some("invalid_grant") => "the code expired or the redirect URI differs; sign in again",
        Some(_) => "check the OIDC app's settings in Okta",
        None => "is OKTA_BASE_URL/OKTA_DOMAIN the Okta org?",
    };
    let code = code.unwrap_or("no OAuth error");
    let status = status.as_u16();
    format!("{what} was refused (HTTP {status}, {code}): {hint}")
}

/// Redeem the code (client_secret_basic); returns the ID token.
async fn redeem(app: &App, code: &str, redirect_uri: &str, verifier: &str) -> Res<String> {
    let mut form = form_urlencoded::Serializer::new(String::new());
    form.extend_pairs([("grant_type", "authorization_code"), ("code", code)]);
    form.extend_pairs([("redirect_uri", redirect_uri), ("code_verifier", verifier)]);
    let form_type = "application/x-www-form-urlencoded";
    let request = app.http.post(format!("{}/oauth2/v1/token", app.base));
    let request = request.basic_auth(&app.client_id, Some(&app.client_secret));
    let request = request.header(reqwest::header::CONTENT_TYPE, form_type);
    let request = request.header(reqwest::header::ACCEPT, "application/json");
    let resp = request.body(form.finish()).send().await;
    let resp = resp.map_err(ctx("cannot reach the token endpoint"))?;
    let status = resp.status();
    let bytes = resp
        .bytes()
        .await
        .map_err(ctx("reading the token response"))?;
    if !status.is_success() {
        return Err(oauth_failure("the token request", status, &bytes));
    }
    let json: Value = serde_json::from_slice(&bytes).map_err(|_| "the token answer is not JSON")?;
    let id_token = json["id_token"]
        .as_str()
        .ok_or("the token answer has no id_token")?;
    Ok(id_token.to_string())
}

async fn run(opts: Opts) -> Res<String> {
    let app = App {
        base: okta_base()?,
        client_id: env("OIDC_CLIENT_ID", "the OIDC app's client id")?,
        client_secret: env("OIDC_CLIENT_SECRET", "the OIDC app's client secret")?,
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(ctx("cannot build the HTTP client"))?,
    };
    let v4 = TcpListener::bind(("127.0.0.1", opts.port)).await;
    let v4 = v4.map_err(ctx(
        "cannot listen for the callback (free the port or use --port)",
    ))?;
    let port = v4.local_addr().map_err(ctx("callback listener"))?.port();
    let mut listeners = vec![v4];
    // Browsers may resolve localhost to ::1 first.
    if let Ok(v6) = TcpListener::bind(("::1", port)).await {
        listeners.push(v6);
    }
    let redirect_uri = format!("http://localhost:{port}/callback");
    let verifier = random_b64(32);
    let challenge = pkce_challenge(&verifier);
    let (state, nonce) = (random_b64(16), random_b64(16));
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.extend_pairs([
        ("client_id", app.client_id.as_str()),
        ("response_type", "code"),
        ("scope", SCOPE),
        ("redirect_uri", &redirect_uri),
        ("state", &state),
        ("nonce", &nonce),
        ("code_challenge", &challenge),
        ("code_challenge_method", "S256"),
    ]);
    if let Some(hint) = &opts.login_hint {
        query.append_pair("login_hint", hint);
    }
    let authorize_url = format!("{}/oauth2/v1/authorize?{}", app.base, query.finish());

    let callback = tokio::spawn(wait_for_code(listeners, state));
    if opts.headless {
        eprintln!("get-id-token: signing in headless at {}", app.base);
        follow_headless(&app, &authorize_url, &redirect_uri).await?;
    } else {
        eprintln!("get-id-token: waiting for the sign-in on {redirect_uri}");
        // The URL carries the sign-in's state and nonce (and a login hint, often an
        // email): shown on a terminal, or when asked, never written into a log.
        if opts.print_url || std::io::stderr().is_terminal() {
            eprintln!("Open this URL in a browser to sign in:\n{authorize_url}");
        } else {
            eprintln!("get-id-token: the sign-in URL is not printed (stderr is not a terminal and the URL carries the sign-in's state); use --print-url to show it");
        }
        open_browser(&authorize_url);
    }
    let code = callback.await.map_err(ctx("callback listener failed"))??;
    eprintln!("get-id-token: got the authorization code; redeeming it");
    let id_token = redeem(&app, &code, &redirect_uri, &verifier).await?;
    // The nonce binds the ID token to this sign-in (decoded only: the Lambda verifies it).
    let claims = unverified_claims(&id_token).ok_or("the id_token is not a JWT")?;
    let claim = |name: &str| claims.get(name).and_then(Value::as_str);
    if claim("nonce") != Some(nonce.as_str()) {
        return Err("nonce mismatch: the ID token is not from this sign-in; start again".into());
    }
    // Okta's user id only; a `sub` that is not one (an email, say) is not printed.
    let user = claim("sub")
        .filter(|s| s.len() <= 40 && s.bytes().all(|b| b.is_ascii_alphanumeric()))
        .unwrap_or("(id not shown)");
    eprintln!("get-id-token: signed in as user {user}");
    Ok(id_token)
}

/// RFC 7636 S256: BASE64URL(SHA256(ASCII(code_verifier))), unpadded.
fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, verifier.as_bytes()))
}

/// Best effort; on a terminal the URL is on stderr too.
fn open_browser(url: &str) {
    let display = ["DISPLAY", "WAYLAND_DISPLAY"]
        .iter()
        .any(|v| std::env::var_os(v).is_some());
    let opener = match () {
        _ if cfg!(target_os = "macos") => "open",
        _ if display => "xdg-open",
        _ => return,
    };
    let mut command = Command::new(opener);
    command
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let spawned = command.spawn();
    if spawned.is_err() {
        eprintln!("get-id-token: could not run {opener}; open the sign-in URL yourself (--print-url shows it)");
    }
}

fn fail(message: &str, code: u8) -> ExitCode {
    eprintln!("get-id-token: {message}");
    ExitCode::from(code)
}

#[tokio::main]
async fn main() -> ExitCode {
    let opts = Opts::parse();
    let secs = opts.timeout;
    match tokio::time::timeout(Duration::from_secs(secs), run(opts)).await {
        Ok(Ok(id_token)) => {
            println!("{id_token}");
            ExitCode::SUCCESS
        }
        Ok(Err(message)) => fail(&message, 1),
        Err(_) => fail(
            &format!("timed out after {secs} s without a sign-in (--timeout SECS to wait longer)"),
            1,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_s256_challenge_is_rfc_7636_appendix_b() {
        // The published example, not our own formula.
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }
}
