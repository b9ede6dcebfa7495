//! What the tool decided ([`Verdict`]) and how Bedrock is told: a function-details
//! response (TEXT, `responseState: FAILURE` when refused or failed) or an OpenAPI one
//! (a status code and a JSON body as a string).
//!
//! The API's 2xx and 4xx answers are passed on for the model to explain; a 3xx (never
//! followed) or 5xx, or no answer, is a failure whose body is ours, not the API's (a 5xx
//! page may carry internals).

use serde_json::json;

use crate::audit::Outcome;
use crate::call::ApiReply;
use crate::event::{
    Action, ActionResponse, Body, Event, FunctionResult, JsonBody, ResponseState, TextBody,
};

pub use crate::event::Response;

#[derive(Debug)]
pub enum Verdict {
    /// The API answered (2xx or 4xx): passed on.
    Answered { status: u16, body: String },
    /// Refused before any call (`status`: what an OpenAPI group sees).
    Refused {
        code: &'static str,
        status: u16,
        message: String,
    },
    /// The call could not be made or failed.
    Failed {
        code: &'static str,
        status: u16,
        message: String,
        api_status: Option<u16>,
    },
}

impl Verdict {
    pub fn refused(code: &'static str, status: u16, message: String) -> Verdict {
        Verdict::Refused {
            code,
            status,
            message,
        }
    }

    pub fn failed(code: &'static str, status: u16, message: String) -> Verdict {
        Verdict::Failed {
            code,
            status,
            message,
            api_status: None,
        }
    }

    pub fn from_api(reply: ApiReply) -> Verdict {
        match reply.status {
            200..=299 | 400..=499 => Verdict::Answered {
                status: reply.status,
                body: reply.body,
            },
            300..=399 => Verdict::Failed {
                code: "api_redirect",
                status: 502,
                message: format!(
                    "the API answered with a redirect (HTTP {}), which is not followed",
                    reply.status
                ),
                api_status: Some(reply.status),
            },
            status => Verdict::Failed {
                code: "api_error",
                status: 502,
                message: format!("the API failed (HTTP {status})"),
                api_status: Some(status),
            },
        }
    }

    pub fn outcome(&self) -> Outcome {
        match self {
            Verdict::Answered { .. } => Outcome::Allowed,
            Verdict::Refused { .. } => Outcome::Refused,
            Verdict::Failed { .. } => Outcome::Failed,
        }
    }

    /// `ok`, `api_client_error` (a 4xx passed on) or the refusal/failure code.
    pub fn reason(&self) -> &'static str {
        match self {
            Verdict::Answered { status, .. } if *status < 400 => "ok",
            Verdict::Answered { .. } => "api_client_error",
            Verdict::Refused { code, .. } | Verdict::Failed { code, .. } => code,
        }
    }

    pub fn api_status(&self) -> Option<u16> {
        match self {
            Verdict::Answered { status, .. } => Some(*status),
            Verdict::Refused { .. } => None,
            Verdict::Failed { api_status, .. } => *api_status,
        }
    }
}

/// The response for `event`'s kind of action group.
pub fn response(event: &Event, action: Action<'_>, verdict: Verdict) -> Response {
    let action_group = event.action_group.clone();
    let response = match action {
        Action::Function(function) => {
            let (state, text) = match verdict {
                Verdict::Answered { status, body } if status < 400 => (None, body),
                Verdict::Answered { status, body } => {
                    (None, format!("The API answered HTTP {status}: {body}"))
                }
                Verdict::Refused { code, message, .. } => (
                    Some(ResponseState::Failure),
                    format!("Refused ({code}): {message}."),
                ),
                Verdict::Failed { code, message, .. } => (
                    Some(ResponseState::Failure),
                    format!("Failed ({code}): {message}."),
                ),
            };
            ActionResponse::Function {
                action_group,
                function: function.to_string(),
                function_response: FunctionResult {
                    response_state: state,
                    response_body: TextBody {
                        text: Body { body: text },
                    },
                },
            }
        }
        Action::OpenApi { method, path } => {
            let (status, body) = match verdict {
                Verdict::Answered { status, body } => (status, body),
                Verdict::Refused {
                    code,
                    status,
                    message,
                }
                | Verdict::Failed {
                    code,
                    status,
                    message,
                    ..
                } => (
                    status,
                    json!({"error": code, "message": message}).to_string(),
                ),
            };
            ActionResponse::OpenApi {
                action_group,
                api_path: path.to_string(),
                http_method: method.to_string(),
                http_status_code: status,
                response_body: JsonBody {
                    json: Body { body },
                },
            }
        }
    };
    Response {
        message_version: "1.0",
        response,
    }
}
