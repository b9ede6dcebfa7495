//! Brokered consent for third-party resource servers (`oauth-sts`), the tokens issued
//! after it, their revocation, and a stand-in of the third-party API that accepts them.
//!
//! - Until a person (or service app) consented to a resource, the exchange answers 400
//!   `{"error":"interaction_required","error_description":...,"interaction_uri":...}`.
//!   `interaction_uri` is `{okta}/oauth2/v1/sts/consent?ticket=T` (single use, 10 minutes;
//!   in the query so the request log, which shows paths only, never holds it): GET shows
//!   the consent page; POST to the same URL (form `decision=allow|deny`) records the answer.
//!   Consent is once per person and resource; afterwards the same exchange succeeds.
//! - `POST /oauth2/v1/revoke` (the agent's client assertion, `aud` = that URL; form `token`,
//!   `token_type_hint`): 200 with an empty body, also for a token that is unknown or not
//!   this client's (RFC 7009); a hint other than `oauth_sts`, `access_token` or
//!   `refresh_token` -> 400 `unsupported_token_type`; no `token` -> 400 `invalid_request`.
//! - `GET /thirdparty/v1/me` with `Authorization: Bearer <third-party token>`: 200
//!   `{subject, resource, scope}` while the token is live, 401 `invalid_token` once revoked
//!   or expired.

use std::collections::{HashMap, HashSet};

use hyper::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use hyper::Method;
use serde_json::json;

use crate::client_auth::authenticate_agent;
use crate::okta::{method_not_allowed, random_token};
use crate::org::ResourceServer;
use crate::server::{Reply, Req};
use crate::subject::Subject;
use crate::token::{form_body, param, ACCESS_TOKEN_LIFETIME_SECS};
use crate::{now, State};

const CONSENT_PATH: &str = "/oauth2/v1/sts/consent";
const TICKET_LIFETIME_SECS: i64 = 600;
/// Outstanding tickets and live tokens kept at most (oldest dropped first when over).
const MAX_ENTRIES: usize = 10_000;

struct Ticket {
    subject: String,
    label: String,
    resource: String,
    expires_at: i64,
}

struct Issued {
    client: String,
    subject: String,
    resource: String,
    scope: String,
    expires_at: i64,
}

/// Consents, consent tickets and third-party tokens (in [`crate::Mutable`]).
#[derive(Default)]
pub(crate) struct Store {
    consents: HashSet<(String, String)>,
    tickets: HashMap<String, Ticket>,
    tokens: HashMap<String, Issued>,
}

impl Store {
    /// Drop what expired; past [`MAX_ENTRIES`], also the entry expiring soonest.
    fn prune(&mut self, t: i64) {
        self.tickets.retain(|_, ticket| ticket.expires_at > t);
        self.tokens.retain(|_, issued| issued.expires_at > t);
        if self.tickets.len() >= MAX_ENTRIES {
            let oldest = self.tickets.iter().min_by_key(|(_, x)| x.expires_at);
            if let Some(key) = oldest.map(|(k, _)| k.clone()) {
                self.tickets.remove(&key);
            }
        }
        if self.tokens.len() >= MAX_ENTRIES {
            let oldest = self.tokens.iter().min_by_key(|(_, x)| x.expires_at);
            if let Some(key) = oldest.map(|(k, _)| k.clone()) {
                self.tokens.remove(&key);
            }
        }
    }
}

/// `Ok` when `subject` consented to `server`; otherwise `interaction_required` with a
/// fresh consent link.
pub(crate) fn require(
    state: &State,
    subject: &Subject,
    server: &ResourceServer,
) -> Result<(), Reply> {
    let key = (subject.id().to_string(), server.resource.clone());
    let mut inner = state.lock();
    if inner.creds.consents.contains(&key) {
        return Ok(());
    }
    let t = now();
    inner.creds.prune(t);
    let ticket = random_token(24);
    let label = match subject {
        Subject::Person(user) => format!("{} ({})", user.name, user.login),
        Subject::Machine(client) => format!("service app {client}"),
    };
    inner.creds.tickets.insert(
        ticket.clone(),
        Ticket {
            subject: key.0,
            label,
            resource: key.1,
            expires_at: t + TICKET_LIFETIME_SECS,
        },
    );
    Err(Reply::json(
        400,
        &json!({
            "error": "interaction_required",
            "error_description": "The user must consent to the AI agent's access to the resource. Open the interaction_uri in a browser, then retry the request.",
            "interaction_uri": format!("{}{CONSENT_PATH}?ticket={ticket}", state.okta_base),
        }),
    )
    .no_store()
    .note("error=interaction_required"))
}

/// Mint and record a third-party token; returns it with its lifetime.
pub(crate) fn issue(
    state: &State,
    client: &str,
    subject: &Subject,
    server: &ResourceServer,
    scopes: &[String],
) -> (String, i64) {
    let token = format!("sts_{}", random_token(32));
    let t = now();
    let mut inner = state.lock();
    inner.creds.prune(t);
    inner.creds.tokens.insert(
        token.clone(),
        Issued {
            client: client.to_string(),
            subject: subject.id().to_string(),
            resource: server.resource.clone(),
            scope: scopes.join(" "),
            expires_at: t + ACCESS_TOKEN_LIFETIME_SECS,
        },
    );
    (token, ACCESS_TOKEN_LIFETIME_SECS)
}

/// The paths this module serves, or `None`.
pub(crate) fn route(state: &State, req: &Req) -> Option<Reply> {
    let post = req.method == Method::POST;
    let get = req.method == Method::GET;
    if req.path == "/oauth2/v1/revoke" {
        return Some(if post {
            revoke(state, req)
        } else {
            method_not_allowed("POST")
        });
    }
    if req.path == "/thirdparty/v1/me" {
        return Some(if get {
            third_party_me(state, req)
        } else {
            method_not_allowed("GET")
        });
    }
    if req.path != CONSENT_PATH {
        return None;
    }
    let query = crate::okta::parse_params(req.query.as_deref().unwrap_or("").as_bytes());
    let ticket = query
        .ok()
        .and_then(|q| q.get("ticket").cloned())
        .unwrap_or_default();
    Some(match (get, post) {
        (true, _) => consent_page(state, &ticket),
        (_, true) => consent_answer(state, &ticket, req),
        _ => method_not_allowed("GET, POST"),
    })
}

fn html(status: u16, title: &str, body: &str) -> Reply {
    let page = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{title}</title></head><body><h1>{title}</h1>{body}</body></html>"
    );
    Reply::new(status, "text/html; charset=utf-8", page)
        .header(hyper::header::CACHE_CONTROL, "no-store")
        .header(
            hyper::header::HeaderName::from_static("content-security-policy"),
            "default-src 'none'; form-action 'self'",
        )
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn invalid_link() -> Reply {
    html(404, "Consent link invalid", "<p>This consent link is invalid, used or expired. Ask the agent to try again for a new one.</p>")
        .note("consent=invalid")
}

fn consent_page(state: &State, ticket: &str) -> Reply {
    let inner = state.lock();
    let Some(t) = inner
        .creds
        .tickets
        .get(ticket)
        .filter(|t| t.expires_at > now())
    else {
        return invalid_link();
    };
    let server = state
        .org
        .cfg
        .resource_servers
        .iter()
        .find(|r| r.resource == t.resource);
    let (name, scopes) = server.map_or((t.resource.as_str(), String::new()), |s| {
        (s.name.as_str(), s.scopes.join(", "))
    });
    let body = format!(
        "<p>Signed in as <b>{who}</b>.</p><p>The AI agent <b>{agent}</b> asks to access <b>{name}</b> ({resource}) on your behalf with: {scopes}.</p>\
         <form method=\"post\"><button name=\"decision\" value=\"allow\">Allow</button> <button name=\"decision\" value=\"deny\">Deny</button></form>",
        who = escape(&t.label),
        agent = escape(&state.cfg.agent_client_id),
        name = escape(name),
        resource = escape(&t.resource),
        scopes = escape(&scopes),
    );
    html(200, "Allow access?", &body).note("consent=shown")
}

fn consent_answer(state: &State, ticket: &str, req: &Req) -> Reply {
    let form = match form_body(req) {
        Ok(form) => form,
        Err(reply) => return reply,
    };
    let decision = match param(&form, "decision") {
        Some(d @ ("allow" | "deny")) => d,
        _ => {
            return html(
                400,
                "Bad request",
                "<p>The form needs decision=allow or decision=deny.</p>",
            )
            .note("consent=bad_request")
        }
    };
    let mut inner = state.lock();
    let Some(t) = inner
        .creds
        .tickets
        .remove(ticket)
        .filter(|t| t.expires_at > now())
    else {
        return invalid_link();
    };
    if decision == "deny" {
        return html(
            200,
            "Access denied",
            "<p>The agent was not given access. You can close this window.</p>",
        )
        .note("consent=denied");
    }
    let note = format!("consent=granted subject={}", t.subject);
    inner.creds.consents.insert((t.subject, t.resource));
    html(
        200,
        "Access granted",
        "<p>You can close this window and return to the agent.</p>",
    )
    .note(note)
}

fn revoke(state: &State, req: &Req) -> Reply {
    let form = match form_body(req) {
        Ok(form) => form,
        Err(reply) => return reply,
    };
    let endpoint = format!("{}/oauth2/v1/revoke", state.okta_base);
    let client = match authenticate_agent(state, req, &form, &endpoint) {
        Ok(client) => client,
        Err(reply) => return reply,
    };
    let Some(token) = param(&form, "token") else {
        return Reply::oauth_error(400, "invalid_request", "The 'token' parameter is required.");
    };
    if param(&form, "token_type_hint")
        .is_some_and(|hint| !["oauth_sts", "access_token", "refresh_token"].contains(&hint))
    {
        return Reply::oauth_error(
            400,
            "unsupported_token_type",
            "The token_type_hint is not supported. Use oauth_sts for a third-party token.",
        );
    }
    let mut inner = state.lock();
    let revoked = inner
        .creds
        .tokens
        .get(token)
        .is_some_and(|issued| issued.client == client);
    if revoked {
        inner.creds.tokens.remove(token);
    }
    Reply::new(200, "application/json", "")
        .no_store()
        .note(if revoked {
            "revoked=oauth_sts"
        } else {
            "revoked=none"
        })
}

fn third_party_me(state: &State, req: &Req) -> Reply {
    let refuse = || {
        Reply::json(401, &json!({"error": "invalid_token", "error_description": "The access token is invalid, revoked or expired."}))
            .header(WWW_AUTHENTICATE, "Bearer error=\"invalid_token\"")
            .note("error=invalid_token")
    };
    let Some(token) = req
        .header(AUTHORIZATION.as_str())
        .and_then(|h| h.strip_prefix("Bearer "))
    else {
        return refuse();
    };
    let inner = state.lock();
    match inner
        .creds
        .tokens
        .get(token.trim())
        .filter(|i| i.expires_at > now())
    {
        Some(issued) => Reply::json(
            200,
            &json!({"subject": issued.subject, "resource": issued.resource, "scope": issued.scope}),
        ),
        None => refuse(),
    }
}

impl crate::Devstack {
    /// Forget that `subject_id` (a user id or service app client id) consented to `resource`:
    /// the next third-party exchange asks for consent again.
    pub fn withdraw_consent(&self, subject_id: &str, resource: &str) {
        self.state
            .lock()
            .creds
            .consents
            .remove(&(subject_id.to_string(), resource.to_string()));
    }

    /// Whether `subject_id` consented to `resource`.
    pub fn has_consented(&self, subject_id: &str, resource: &str) -> bool {
        self.state
            .lock()
            .creds
            .consents
            .contains(&(subject_id.to_string(), resource.to_string()))
    }
}
