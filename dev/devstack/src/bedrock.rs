//! The Bedrock agent runtime stand-in: `InvokeAgent` only.
//!
//! `POST /agents/{agentId}/agentAliases/{aliasId}/sessions/{sessionId}/text`, checked in
//! this order (errors are AWS REST-JSON: `{"message"}` plus `x-amzn-errortype`, so the
//! real `aws-sdk-bedrockagentruntime` client parses them into its typed errors):
//!
//! 1. other paths -> 404 `UnknownOperationException`; other methods -> 405;
//! 2. agentId/aliasId not 1..=10 alphanumerics, sessionId not `^[0-9a-zA-Z._:-]+$` of
//!    2..=100 characters -> 400 `ValidationException`;
//! 3. no `Authorization: AWS4-HMAC-SHA256 Credential=...` -> 403 `AccessDeniedException`
//!    (the signature itself is not checked);
//! 4. unknown agent or alias (or [`BedrockFault::UnknownAgent`]) -> 404 `ResourceNotFoundException`;
//! 5. body not JSON with a string `inputText` -> 400 `ValidationException`;
//! 6. `oktaAccessToken` among `sessionState.promptSessionAttributes` -> 400 `ValidationException`;
//! 7. `sessionState.sessionAttributes.oktaAccessToken` missing, or not an access token of the
//!    custom authorization server (RS256 by its key, `iss`, `aud` = [`ACCESS_TOKEN_AUDIENCE`],
//!    unexpired) -> 403 `AccessDeniedException`;
//! 8. faults, then 200 with an event stream: `You are signed in as <login>.` in 3 `chunk`
//!    events (`{"bytes":"<base64>"}`), headers `x-amzn-bedrock-agent-content-type:
//!    application/json` and `x-amz-bedrock-agent-session-id`. With a tool Lambda attached
//!    and a prompt the tool serves, the agent first calls the tool (see [`crate::agent`]):
//!    its answer is folded into the reply, its failure becomes an in-stream
//!    `dependencyFailedException` with no chunk before it.
//!
//! Faults come from [`Devstack::set_bedrock_fault`](crate::Devstack::set_bedrock_fault)
//! or, for demos, from a prompt starting with `devstack-fault:<kind>`:
//! `throttle` (429 `ThrottlingException` before the stream), `midstream` (one chunk, then a
//! `throttlingException` frame; `midstream=<exceptionType>` picks another shape, e.g.
//! `midstream=accessDeniedException`), `slow` (answer after 5 s; `slow=<secs>`, at most 600).
//! The prompt prefix wins over the configured fault and does not consume it.

use std::sync::Arc;

use hyper::header::{HeaderName, AUTHORIZATION, CONTENT_TYPE};
use hyper::Method;
use serde_json::{json, Value};

use crate::agent;
use crate::eventstream::split_text;
pub use crate::eventstream::{chunk_frame, exception_frame, EVENT_STREAM};
use crate::faults::{configured_fault, prompt_fault, Fault};
use crate::server::{Reply, Req};
use crate::{now, BedrockFault, LastInvoke, State, ACCESS_TOKEN_AUDIENCE};

/// The prompt prefix that asks for a fault (see the module docs).
pub const FAULT_PREFIX: &str = "devstack-fault:";
const CHUNKS: usize = 3;
const INJECTED: &str = "devstack injected fault: the stream failed after it started.";

fn aws_error(status: u16, error_type: &str, message: &str) -> Reply {
    Reply::json(status, &json!({ "message": message }))
        .header(HeaderName::from_static("x-amzn-errortype"), error_type)
        .header(
            HeaderName::from_static("x-amzn-requestid"),
            uuid::Uuid::new_v4().to_string(),
        )
        .note(format!("error={error_type}"))
}

pub(crate) fn too_large() -> Reply {
    aws_error(413, "ValidationException", "The request body is too large.")
}

fn validation(message: &str) -> Reply {
    aws_error(400, "ValidationException", message)
}

fn not_found() -> Reply {
    aws_error(
        404,
        "ResourceNotFoundException",
        "Failed to retrieve resource because it doesn't exist. Retry the request with a different resource identifier.",
    )
}

fn percent_decode(segment: &str) -> Option<String> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = segment.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn id_ok(id: &str) -> bool {
    (1..=10).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

pub(crate) fn session_id_ok(id: &str) -> bool {
    (2..=100).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b))
}

/// The user an access token of the custom authorization server was issued for.
fn check_access_token(state: &State, token: &str) -> Result<String, &'static str> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| "it is not a JWT")?;
    if header.alg != jsonwebtoken::Algorithm::RS256
        || header.kid.as_deref() != Some(state.custom_key.kid.as_str())
    {
        return Err("it is not signed by the custom authorization server");
    }
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.validate_aud = false;
    let claims = jsonwebtoken::decode::<Value>(token, &state.custom_key.decoding, &validation)
        .map_err(|_| "its signature is invalid")?
        .claims;
    if claims["iss"].as_str() != Some(state.custom_issuer.as_str()) {
        return Err("its issuer is not the custom authorization server");
    }
    if claims["aud"].as_str() != Some(ACCESS_TOKEN_AUDIENCE) {
        return Err("its audience is not the protected API");
    }
    if claims["exp"].as_i64().is_none_or(|exp| exp <= now()) {
        return Err("it is expired");
    }
    let user = claims["uid"]
        .as_str()
        .and_then(|uid| state.user(uid))
        .ok_or("its user is unknown")?;
    Ok(user.login.clone())
}

fn attribute_names(value: &Value) -> Vec<String> {
    let mut names: Vec<String> = value
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    names.sort();
    names
}

pub(crate) async fn handle(state: Arc<State>, req: Req) -> Reply {
    let segments: Vec<&str> = req.path.trim_start_matches('/').split('/').collect();
    let ["agents", agent, "agentAliases", alias, "sessions", session, "text"] = segments[..] else {
        return aws_error(404, "UnknownOperationException", "Unknown operation.");
    };
    state.lock().stats.invoke_agent += 1;
    if req.method != Method::POST {
        return aws_error(405, "UnknownOperationException", "InvokeAgent takes POST.")
            .header(hyper::header::ALLOW, "POST");
    }
    let (Some(agent), Some(alias), Some(session)) = (
        percent_decode(agent),
        percent_decode(alias),
        percent_decode(session),
    ) else {
        return validation("The path is not valid percent-encoded UTF-8.");
    };
    if !id_ok(&agent) || !id_ok(&alias) {
        return validation("1 validation error detected: agentId and agentAliasId must be 1 to 10 alphanumeric characters.");
    }
    if !session_id_ok(&session) {
        return validation("1 validation error detected: Value at 'sessionId' failed to satisfy constraint: Member must satisfy regular expression pattern: [0-9a-zA-Z._:-]+ and have length between 2 and 100.");
    }
    if !req
        .header(AUTHORIZATION.as_str())
        .is_some_and(|a| a.starts_with("AWS4-HMAC-SHA256 Credential="))
    {
        return aws_error(
            403,
            "AccessDeniedException",
            "Missing Authentication Token: sign the request with AWS Signature Version 4.",
        );
    }
    let unknown_agent = matches!(state.lock().bedrock_fault, BedrockFault::UnknownAgent);
    if unknown_agent
        || agent != state.cfg.bedrock_agent_id
        || alias != state.cfg.bedrock_agent_alias_id
    {
        return not_found();
    }
    let json_body = req
        .header(CONTENT_TYPE.as_str())
        .is_none_or(|ct| ct.starts_with("application/json"));
    let request: Value = match serde_json::from_slice(&req.body) {
        Ok(request @ Value::Object(_)) if json_body => request,
        _ => return validation("The request body must be a JSON object."),
    };
    let Some(input_text) = request["inputText"].as_str() else {
        return validation("1 validation error detected: 'inputText' is required.");
    };
    if input_text.chars().count() > 25_000 {
        return validation("1 validation error detected: 'inputText' must have length less than or equal to 25000.");
    }
    let session_attributes = &request["sessionState"]["sessionAttributes"];
    let prompt_attributes = &request["sessionState"]["promptSessionAttributes"];
    state.lock().stats.last_invoke = Some(LastInvoke {
        session_id: session.clone(),
        input_text: input_text.to_string(),
        session_attribute_names: attribute_names(session_attributes),
        prompt_session_attribute_names: attribute_names(prompt_attributes),
    });
    if prompt_attributes.get("oktaAccessToken").is_some() {
        return validation("oktaAccessToken must not be a promptSessionAttribute: those are pasted into the model's prompt. Use sessionAttributes.");
    }
    let Some(token) = session_attributes["oktaAccessToken"].as_str() else {
        return aws_error(
            403,
            "AccessDeniedException",
            "The action group needs sessionState.sessionAttributes.oktaAccessToken.",
        );
    };
    let login = match check_access_token(&state, token) {
        Ok(login) => login,
        Err(why) => {
            return aws_error(
                403,
                "AccessDeniedException",
                &format!("The action group rejected oktaAccessToken: {why}."),
            )
        }
    };
    let fault = match prompt_fault(input_text) {
        Ok(Some(fault)) => Some(fault),
        Ok(None) => configured_fault(&state),
        Err(message) => return validation(&message),
    };
    let mut stream_error = None;
    match fault {
        None => {}
        Some(Fault::Slow(delay)) => tokio::time::sleep(delay).await,
        Some(Fault::Throttle) => {
            return aws_error(
                429,
                "ThrottlingException",
                "Your request rate is too high. Reduce the frequency of requests.",
            )
            .note("fault=throttle")
        }
        Some(Fault::MidStream {
            exception_type,
            after_chunks,
        }) => stream_error = Some((exception_type, after_chunks as usize, INJECTED.to_string())),
    }
    let mut answer = format!("You are signed in as {login}.");
    let mut tool_note = String::new();
    let tool_call = state.tool.as_ref().zip(agent::plan(input_text));
    if let (None, Some((tool, call))) = (&stream_error, tool_call) {
        let turn = agent::Turn {
            agent_id: &agent,
            alias_id: &alias,
            session_id: &session,
            input_text,
            session_attributes,
            prompt_attributes,
        };
        let result = agent::call(&state, tool, &turn, &call).await;
        tool_note = format!(
            "tool={}:{}",
            call.function,
            if result.is_ok() { "ok" } else { "failed" }
        );
        match result {
            Ok(text) => answer = agent::fold(&answer, &call, &text),
            Err(message) => stream_error = Some((agent::TOOL_FAILURE.to_string(), 0, message)),
        }
    }
    let mut body = Vec::new();
    for (i, part) in split_text(&answer, CHUNKS).into_iter().enumerate() {
        if stream_error
            .as_ref()
            .is_some_and(|(_, after, _)| i >= *after)
        {
            break;
        }
        body.extend(chunk_frame(part.as_bytes()));
    }
    let mut note = String::new();
    if let Some((exception_type, _, message)) = &stream_error {
        body.extend(exception_frame(exception_type, message));
        note = match tool_note.is_empty() {
            true => format!("fault=midstream:{exception_type}"),
            false => format!("error={exception_type}"),
        };
    }
    let mut reply = Reply::new(200, EVENT_STREAM, body)
        .header(
            HeaderName::from_static("x-amzn-bedrock-agent-content-type"),
            "application/json",
        )
        .header(
            HeaderName::from_static("x-amz-bedrock-agent-session-id"),
            session,
        )
        .header(
            HeaderName::from_static("x-amzn-requestid"),
            uuid::Uuid::new_v4().to_string(),
        )
        .note(tool_note)
        .note(note);
    if let Some(memory_id) = request["memoryId"].as_str() {
        reply = reply.header(
            HeaderName::from_static("x-amz-bedrock-agent-memory-id"),
            memory_id,
        );
    }
    reply
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_ids_follow_the_bedrock_pattern() {
        assert!(
            session_id_ok("ab") && session_id_ok("a.b_c:d-e") && session_id_ok(&"x".repeat(100))
        );
        assert!(
            !session_id_ok("a")
                && !session_id_ok(&"x".repeat(101))
                && !session_id_ok("a b")
                && !session_id_ok("a/b")
        );
    }
}
