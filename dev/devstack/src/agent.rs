//! The agent behind the Bedrock stand-in: when a tool Lambda is attached
//! ([`Config::tool_runtime`](crate::Config::tool_runtime)) and the prompt asks for
//! something the tool serves, it invokes the tool the way Bedrock invokes an action-group
//! Lambda, and folds the tool's answer into its reply.
//!
//! The "model" is a keyword match: a prompt mentioning a ticket id (`TCK-1001`) calls
//! [`FN_GET_TICKET`] with parameter `id`, one mentioning tickets calls
//! [`FN_LIST_TICKETS`], and "who am I" / "about me" / "my profile" calls [`FN_GET_ME`],
//! all in the action group [`ACTION_GROUP`]. Other prompts get no tool call.
//!
//! The event is the function-details shape (WIRE.md section 5): `messageVersion` 1.0,
//! `agent {name, id, alias, version}`, `inputText`, `sessionId`, `actionGroup`,
//! `function`, `parameters` (values always strings), and `sessionAttributes` and
//! `promptSessionAttributes` copied exactly from InvokeAgent's `sessionState` (`{}` when
//! absent; the Bedrock stand-in has already refused a token among the prompt attributes).
//! It goes through devstack's own Lambda Runtime API ([`crate::runtime_api::RuntimeApi`]),
//! so the real tool binary runs unchanged with `AWS_LAMBDA_RUNTIME_API` pointing there.
//!
//! The answer must be the function-details response for the same action group and
//! function, with a `TEXT` body of at most 25 KB (Bedrock's limit). `responseState`
//! `FAILURE`, a function error, a malformed answer or no answer within
//! [`Config::tool_timeout`](crate::Config::tool_timeout) end the turn with an in-stream
//! `dependencyFailedException`, as Bedrock does; `REPROMPT` text is folded like a success
//! (there is no model to re-prompt). Messages never carry the tool's body.

use std::time::Duration;

use serde_json::{json, Value};

use crate::runtime_api::{Outcome, RuntimeApi};
use crate::State;

/// The action group the agent calls.
pub const ACTION_GROUP: &str = "tickets-api";
/// The person's own profile (`GET /me` behind the tool).
pub const FN_GET_ME: &str = "get_me";
/// The person's tickets (`GET /tickets`).
pub const FN_LIST_TICKETS: &str = "list_tickets";
/// One ticket (`GET /tickets/{id}`), parameter `id`.
pub const FN_GET_TICKET: &str = "get_ticket";
/// `agent.name` in the event.
pub const AGENT_NAME: &str = "devstack-agent";
/// `agent.version` in the event (the version the alias points at).
pub const AGENT_VERSION: &str = "1";
/// The exception an in-stream tool failure arrives as.
pub const TOOL_FAILURE: &str = "dependencyFailedException";
/// Bedrock's limit on an action-group Lambda's answer.
const MAX_TOOL_TEXT: usize = 25 * 1024;
/// A ticket id in a prompt is at most this long.
const MAX_ID_LEN: usize = 24;

/// The tool Lambda, reached through a Runtime API devstack owns.
pub(crate) struct Tool {
    pub runtime: RuntimeApi,
    pub timeout: Duration,
}

/// One function call the agent decided on.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Call {
    pub function: &'static str,
    pub parameters: Vec<Value>,
}

/// The InvokeAgent call a tool call belongs to.
pub(crate) struct Turn<'a> {
    pub agent_id: &'a str,
    pub alias_id: &'a str,
    pub session_id: &'a str,
    pub input_text: &'a str,
    pub session_attributes: &'a Value,
    pub prompt_attributes: &'a Value,
}

fn is_ticket_id(word: &str) -> bool {
    word.len() <= MAX_ID_LEN
        && word
            .get(..4)
            .is_some_and(|p| p.eq_ignore_ascii_case("tck-"))
        && word.len() > 4
        && word[4..].bytes().all(|b| b.is_ascii_digit())
}

/// Which function, if any, the prompt asks for.
pub(crate) fn plan(prompt: &str) -> Option<Call> {
    let lower = prompt.to_lowercase();
    let ticket_id = prompt
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .find(|w| is_ticket_id(w));
    if let Some(id) = ticket_id {
        return Some(Call {
            function: FN_GET_TICKET,
            parameters: vec![
                json!({"name": "id", "type": "string", "value": id.to_ascii_uppercase()}),
            ],
        });
    }
    if lower.contains("ticket") {
        return Some(Call {
            function: FN_LIST_TICKETS,
            parameters: vec![],
        });
    }
    ["who am i", "about me", "my profile"]
        .iter()
        .any(|p| lower.contains(p))
        .then(|| Call {
            function: FN_GET_ME,
            parameters: vec![],
        })
}

fn attributes(value: &Value) -> Value {
    match value {
        Value::Object(_) => value.clone(),
        _ => json!({}),
    }
}

/// The action-group event Bedrock sends for `call`.
pub(crate) fn event(turn: &Turn<'_>, call: &Call) -> Value {
    json!({
        "messageVersion": "1.0",
        "agent": {"name": AGENT_NAME, "id": turn.agent_id, "alias": turn.alias_id, "version": AGENT_VERSION},
        "inputText": turn.input_text,
        "sessionId": turn.session_id,
        "actionGroup": ACTION_GROUP,
        "function": call.function,
        "parameters": call.parameters,
        "sessionAttributes": attributes(turn.session_attributes),
        "promptSessionAttributes": attributes(turn.prompt_attributes),
    })
}

/// The `TEXT` body of a function-details response for `call`, or why it is not one.
pub(crate) fn read_response(outcome: Option<Outcome>, call: &Call) -> Result<String, String> {
    let response = match outcome {
        None => return Err("The action group Lambda did not answer in time.".into()),
        Some(Outcome::Error { .. }) => {
            return Err("The action group Lambda failed: it reported a function error.".into())
        }
        Some(Outcome::Response(response)) => response,
    };
    let malformed = |what: &str| {
        Err(format!(
            "The server encountered an error processing the Lambda response: {what}."
        ))
    };
    if response["messageVersion"].as_str() != Some("1.0") {
        return malformed("messageVersion must be 1.0");
    }
    let inner = &response["response"];
    if inner["actionGroup"].as_str() != Some(ACTION_GROUP)
        || inner["function"].as_str() != Some(call.function)
    {
        return malformed("actionGroup and function must be those of the event");
    }
    let function_response = &inner["functionResponse"];
    match function_response["responseState"].as_str() {
        None | Some("REPROMPT") => {}
        Some("FAILURE") => {
            return Err(
                "Received failed response from the action group Lambda (responseState FAILURE)."
                    .into(),
            )
        }
        Some(_) => return malformed("responseState must be FAILURE or REPROMPT when present"),
    }
    let Some(text) = function_response["responseBody"]["TEXT"]["body"].as_str() else {
        return malformed("functionResponse.responseBody.TEXT.body must be a string");
    };
    if text.len() > MAX_TOOL_TEXT {
        return malformed("the body exceeds 25 KB");
    }
    Ok(text.to_string())
}

/// Send the event through the tool's Runtime API and read its answer.
pub(crate) async fn call(
    state: &State,
    tool: &Tool,
    turn: &Turn<'_>,
    call: &Call,
) -> Result<String, String> {
    state.lock().stats.tool_invocations += 1;
    let event = event(turn, call);
    let outcome = tokio::time::timeout(tool.timeout, tool.runtime.invoke(&event, tool.timeout))
        .await
        .ok()
        .flatten();
    let text = read_response(outcome, call);
    if text.is_err() {
        state.lock().stats.tool_failures += 1;
    }
    text
}

/// The agent's reply: its own sentence, then what the tool said.
pub(crate) fn fold(reply: &str, call: &Call, text: &str) -> String {
    format!(
        "{reply} The {ACTION_GROUP} tool ({}) answered: {text}",
        call.function
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompts_map_to_functions() {
        let f = |p: &str| plan(p).map(|c| c.function);
        assert_eq!(f("Who am I?"), Some(FN_GET_ME));
        assert_eq!(f("show my tickets please"), Some(FN_LIST_TICKETS));
        assert_eq!(f("What about ticket tck-2001?"), Some(FN_GET_TICKET));
        assert_eq!(f("hello"), None);
        assert_eq!(f("TCK-"), None);
        let call = plan("status of TCK-1002").unwrap();
        assert_eq!(
            call.parameters,
            vec![json!({"name": "id", "type": "string", "value": "TCK-1002"})]
        );
    }

    fn response(state: Option<&str>, body: &str) -> Option<Outcome> {
        let mut fr = json!({"responseBody": {"TEXT": {"body": body}}});
        if let Some(state) = state {
            fr["responseState"] = state.into();
        }
        Some(Outcome::Response(json!({"messageVersion": "1.0",
            "response": {"actionGroup": ACTION_GROUP, "function": FN_GET_ME, "functionResponse": fr}})))
    }

    #[test]
    fn responses_are_read_strictly() {
        let me = plan("who am i").unwrap();
        assert_eq!(read_response(response(None, "hi"), &me), Ok("hi".into()));
        assert_eq!(
            read_response(response(Some("REPROMPT"), "x"), &me),
            Ok("x".into())
        );
        let err = read_response(response(Some("FAILURE"), "secret body"), &me).unwrap_err();
        assert!(err.contains("FAILURE") && !err.contains("secret body"));
        assert!(read_response(response(Some("MAYBE"), "x"), &me).is_err());
        assert!(read_response(response(None, &"x".repeat(MAX_TOOL_TEXT + 1)), &me).is_err());
        let list = plan("tickets").unwrap();
        assert!(read_response(response(None, "x"), &list).is_err());
        assert!(read_response(None, &me).is_err());
        assert!(read_response(Some(Outcome::Response(json!({}))), &me).is_err());
    }
}
