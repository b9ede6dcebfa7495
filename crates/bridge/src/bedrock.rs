//! The downstream Bedrock agent: `InvokeAgent` with the user's access token as the
//! session attribute `oktaAccessToken`, and the draining of its event stream, behind
//! one small trait so the handler can be tested without AWS.

use aws_sdk_bedrockagentruntime::error::SdkError;
use aws_sdk_bedrockagentruntime::operation::invoke_agent::InvokeAgentError;
use aws_sdk_bedrockagentruntime::types::error::ResponseStreamError;
use aws_sdk_bedrockagentruntime::types::{ResponseStream, SessionState};
use thiserror::Error;

use xaa::{AccessToken, BoxFuture};

/// Where a streaming front door wants the answer's text as it arrives.
pub type ChunkSink = tokio::sync::mpsc::UnboundedSender<String>;

/// The session attribute action group Lambdas read the user's token from. It goes in
/// `sessionAttributes`, never `promptSessionAttributes` (those are pasted into the
/// model's prompt).
pub const TOKEN_ATTRIBUTE: &str = "oktaAccessToken";

/// Answers larger than this are refused rather than buffered without bound.
pub const MAX_ANSWER_BYTES: usize = 1024 * 1024;
/// The answer as it will be written into a JSON response (escapes counted: a control
/// character becomes six bytes) must stay below Lambda's 6 MB response limit, with room
/// for the rest of the document.
pub const MAX_ESCAPED_ANSWER_BYTES: usize = 5 * 1024 * 1024;
/// Events of any kind (chunks, and traces although we ask for none) in one answer
/// stream; each is a whole frame the SDK has buffered, so their number is bounded too.
pub const MAX_STREAM_EVENTS: usize = 10_000;

/// How many bytes `bytes` takes inside a JSON string (serde_json's escaping).
fn json_escaped_len(bytes: &[u8]) -> usize {
    bytes
        .iter()
        .map(|&b| match b {
            b'"' | b'\\' | b'\n' | b'\r' | b'\t' | 0x08 | 0x0c => 2,
            0x00..=0x1f => 6,
            _ => 1,
        })
        .sum()
}

pub struct AgentRequest<'a> {
    pub session_id: &'a str,
    pub prompt: &'a str,
    pub access_token: &'a AccessToken,
    /// When set, each piece of the answer is sent here as soon as it is whole UTF-8.
    pub chunks: Option<&'a ChunkSink>,
}

#[derive(Clone, PartialEq, Eq)]
pub struct AgentAnswer {
    pub text: String,
    pub chunks: usize,
}

// The answer is the person's data: no derived Debug prints it.
impl std::fmt::Debug for AgentAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentAnswer")
            .field("text", &format_args!("<{} bytes>", self.text.len()))
            .field("chunks", &self.chunks)
            .finish()
    }
}

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum AgentError {
    #[error("the Bedrock agent or alias was not found: check BEDROCK_AGENT_ID, BEDROCK_AGENT_ALIAS_ID and AWS_REGION")]
    NotFound,
    #[error("Bedrock throttled the agent call ({0}); retry later or raise the account quota")]
    Throttled(&'static str),
    #[error("Bedrock denied the agent call ({0}): check that the function's role allows bedrock:InvokeAgent on this alias and that the agent's action group accepts the user's token")]
    AccessDenied(&'static str),
    #[error("the agent asked its caller to run an action (returnControl), which xaa-bridge does not support: give the action group a Lambda executor")]
    ReturnControl,
    #[error("the Bedrock agent failed: {0}")]
    Failed(String),
}

impl AgentError {
    pub fn kind(&self) -> &'static str {
        match self {
            AgentError::NotFound => "AgentNotFound",
            AgentError::Throttled(_) => "AgentThrottled",
            AgentError::AccessDenied(_) => "AgentAccessDenied",
            AgentError::ReturnControl | AgentError::Failed(_) => "AgentFailed",
        }
    }
}

/// The exceptions Bedrock documents for InvokeAgent, before or inside the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    Throttling,
    ServiceQuotaExceeded,
    AccessDenied,
    ResourceNotFound,
    Validation,
    DependencyFailed,
    BadGateway,
    InternalServer,
    Conflict,
    ModelNotReady,
    Unknown,
}

impl Fault {
    fn name(self) -> &'static str {
        match self {
            Fault::Throttling => "throttlingException",
            Fault::ServiceQuotaExceeded => "serviceQuotaExceededException",
            Fault::AccessDenied => "accessDeniedException",
            Fault::ResourceNotFound => "resourceNotFoundException",
            Fault::Validation => "validationException",
            Fault::DependencyFailed => "dependencyFailedException",
            Fault::BadGateway => "badGatewayException",
            Fault::InternalServer => "internalServerException",
            Fault::Conflict => "conflictException",
            Fault::ModelNotReady => "modelNotReadyException",
            Fault::Unknown => "an unrecognised exception",
        }
    }

    /// Safe to try once more when it arrives before any event of the stream: Bedrock
    /// refused to start the turn (throttled, or the model was not ready), so no action
    /// group can have run. `dependencyFailedException`, `internalServerException` and
    /// `badGatewayException` are not: they can come after an action group Lambda already
    /// ran (a ticket filed, a payment made), and a retry would run it twice.
    pub fn cannot_have_had_effects(self) -> bool {
        matches!(self, Fault::Throttling | Fault::ModelNotReady)
    }

    fn into_error(self, place: &'static str) -> AgentError {
        match self {
            Fault::ResourceNotFound => AgentError::NotFound,
            Fault::Throttling | Fault::ServiceQuotaExceeded => AgentError::Throttled(self.name()),
            Fault::AccessDenied => AgentError::AccessDenied(place),
            Fault::Validation => AgentError::Failed(format!(
                "Bedrock refused the request as invalid ({}, {place})",
                self.name()
            )),
            _ => AgentError::Failed(format!("{} {place}", self.name())),
        }
    }
}

fn fault_of_stream_error(e: &ResponseStreamError) -> Fault {
    match e {
        ResponseStreamError::ThrottlingException(_) => Fault::Throttling,
        ResponseStreamError::ServiceQuotaExceededException(_) => Fault::ServiceQuotaExceeded,
        ResponseStreamError::AccessDeniedException(_) => Fault::AccessDenied,
        ResponseStreamError::ResourceNotFoundException(_) => Fault::ResourceNotFound,
        ResponseStreamError::ValidationException(_) => Fault::Validation,
        ResponseStreamError::DependencyFailedException(_) => Fault::DependencyFailed,
        ResponseStreamError::BadGatewayException(_) => Fault::BadGateway,
        ResponseStreamError::InternalServerException(_) => Fault::InternalServer,
        ResponseStreamError::ConflictException(_) => Fault::Conflict,
        ResponseStreamError::ModelNotReadyException(_) => Fault::ModelNotReady,
        _ => Fault::Unknown,
    }
}

fn fault_of_invoke_error(e: &InvokeAgentError) -> Fault {
    match e {
        InvokeAgentError::ThrottlingException(_) => Fault::Throttling,
        InvokeAgentError::ServiceQuotaExceededException(_) => Fault::ServiceQuotaExceeded,
        InvokeAgentError::AccessDeniedException(_) => Fault::AccessDenied,
        InvokeAgentError::ResourceNotFoundException(_) => Fault::ResourceNotFound,
        InvokeAgentError::ValidationException(_) => Fault::Validation,
        InvokeAgentError::DependencyFailedException(_) => Fault::DependencyFailed,
        InvokeAgentError::BadGatewayException(_) => Fault::BadGateway,
        InvokeAgentError::InternalServerException(_) => Fault::InternalServer,
        InvokeAgentError::ConflictException(_) => Fault::Conflict,
        InvokeAgentError::ModelNotReadyException(_) => Fault::ModelNotReady,
        _ => Fault::Unknown,
    }
}

/// Send the longest prefix of `pending` that is whole UTF-8 (a chunk may end inside a
/// character); returns how many bytes were sent. A closed sink (the client went away)
/// is not an error here: the answer is still drained and returned.
fn send_whole_chars(sink: &ChunkSink, pending: &[u8]) -> usize {
    let whole = match std::str::from_utf8(pending) {
        Ok(text) => text,
        Err(e) if e.error_len().is_none() => {
            // Only an unfinished character at the end: send what comes before it.
            std::str::from_utf8(&pending[..e.valid_up_to()]).unwrap_or_default()
        }
        // Invalid bytes: send nothing; the final decode reports the error.
        Err(_) => return 0,
    };
    if !whole.is_empty() {
        let _ = sink.send(whole.to_string());
    }
    whole.len()
}

/// The agent call, as the core sees it.
pub trait AgentInvoker: Send + Sync {
    fn invoke<'a>(
        &'a self,
        request: AgentRequest<'a>,
    ) -> BoxFuture<'a, Result<AgentAnswer, AgentError>>;
}

/// The real thing: the AWS SDK client, built once at init.
pub struct SdkAgentInvoker {
    client: aws_sdk_bedrockagentruntime::Client,
    agent_id: String,
    alias_id: String,
}

impl SdkAgentInvoker {
    pub fn new(
        client: aws_sdk_bedrockagentruntime::Client,
        agent_id: impl Into<String>,
        alias_id: impl Into<String>,
    ) -> Self {
        Self {
            client,
            agent_id: agent_id.into(),
            alias_id: alias_id.into(),
        }
    }

    async fn invoke_once(
        &self,
        request: &AgentRequest<'_>,
    ) -> Result<AgentAnswer, (AgentError, Option<Fault>, usize)> {
        let session_state = SessionState::builder()
            .session_attributes(TOKEN_ATTRIBUTE, request.access_token.expose())
            .build();
        let mut output = self
            .client
            .invoke_agent()
            .agent_id(&self.agent_id)
            .agent_alias_id(&self.alias_id)
            .session_id(request.session_id)
            .input_text(request.prompt)
            .enable_trace(false)
            .end_session(false)
            .session_state(session_state)
            .send()
            .await
            .map_err(|e| (invoke_error(&e), None, 0))?;
        drain(&mut output.completion, request.chunks).await
    }
}

fn invoke_error<R>(e: &SdkError<InvokeAgentError, R>) -> AgentError {
    match e {
        SdkError::ServiceError(service) => {
            fault_of_invoke_error(service.err()).into_error("before the answer stream")
        }
        SdkError::TimeoutError(_) => AgentError::Failed("the call to Bedrock timed out".into()),
        SdkError::DispatchFailure(_) => AgentError::Failed("Bedrock could not be reached".into()),
        _ => AgentError::Failed("Bedrock's response could not be read".into()),
    }
}

/// Join the `chunk` bytes of the answer stream. Traces and files are skipped, an
/// exception frame becomes a typed error (with the fault, and how many events of any
/// kind came before it, so the caller can decide on a retry), and unknown future events
/// are tolerated.
async fn drain(
    stream: &mut aws_sdk_bedrockagentruntime::primitives::event_stream::EventReceiver<
        ResponseStream,
        ResponseStreamError,
    >,
    sink: Option<&ChunkSink>,
) -> Result<AgentAnswer, (AgentError, Option<Fault>, usize)> {
    let mut bytes = Vec::new();
    // How many bytes of `bytes` were already sent to the sink.
    let mut sent = 0;
    // Events of any kind (traces too): once one was seen, the turn has started.
    let mut events = 0;
    let mut escaped = 0usize;
    let mut chunks = 0;
    loop {
        let event = match stream.recv().await {
            Ok(Some(event)) => event,
            Ok(None) => break,
            Err(SdkError::ServiceError(service)) => {
                let fault = fault_of_stream_error(service.err());
                return Err((
                    fault.into_error("inside the answer stream"),
                    Some(fault),
                    events,
                ));
            }
            Err(_) => {
                return Err((
                    AgentError::Failed("the answer stream was malformed or cut off".into()),
                    None,
                    events,
                ))
            }
        };
        events += 1;
        if events > MAX_STREAM_EVENTS {
            return Err((
                AgentError::Failed(format!(
                    "the answer stream has more than {MAX_STREAM_EVENTS} events"
                )),
                None,
                events,
            ));
        }
        match event {
            ResponseStream::Chunk(part) => {
                if let Some(blob) = part.bytes {
                    escaped = escaped.saturating_add(json_escaped_len(blob.as_ref()));
                    if bytes.len().saturating_add(blob.as_ref().len()) > MAX_ANSWER_BYTES
                        || escaped > MAX_ESCAPED_ANSWER_BYTES
                    {
                        return Err((
                            AgentError::Failed(
                                "the answer is too large for one response (over 1 MiB, or over 5 MiB written as JSON)".into(),
                            ),
                            None,
                            events,
                        ));
                    }
                    bytes.extend_from_slice(blob.as_ref());
                    chunks += 1;
                    if let Some(sink) = sink {
                        sent += send_whole_chars(sink, &bytes[sent..]);
                    }
                }
            }
            ResponseStream::Trace(_) | ResponseStream::Files(_) => {}
            ResponseStream::ReturnControl(_) => {
                return Err((AgentError::ReturnControl, None, events))
            }
            other => {
                tracing::debug!(event = ?std::mem::discriminant(&other), "skipping an unknown answer stream event")
            }
        }
    }
    // Chunks may split a multi-byte character, so decode only the joined bytes.
    let text = String::from_utf8(bytes).map_err(|_| {
        (
            AgentError::Failed("the answer is not valid UTF-8".into()),
            None,
            chunks,
        )
    })?;
    Ok(AgentAnswer { text, chunks })
}

impl AgentInvoker for SdkAgentInvoker {
    fn invoke<'a>(
        &'a self,
        request: AgentRequest<'a>,
    ) -> BoxFuture<'a, Result<AgentAnswer, AgentError>> {
        Box::pin(async move {
            match self.invoke_once(&request).await {
                Ok(answer) => Ok(answer),
                // Retried once only when nothing can have happened yet: a throttle or
                // model-not-ready as the very first thing in the stream (see
                // `cannot_have_had_effects`). Throttling before the stream is retried by
                // the SDK's own retry policy.
                Err((_, Some(fault), 0)) if fault.cannot_have_had_effects() => {
                    tracing::warn!(
                        fault = fault.name(),
                        "agent turn refused before any event; retrying once"
                    );
                    self.invoke_once(&request).await.map_err(|(e, _, _)| e)
                }
                Err((e, _, _)) => Err(e),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaped_length_matches_what_serde_json_writes() {
        let all: Vec<u8> = (0u8..=127).collect();
        let text = String::from_utf8(all.clone()).unwrap();
        let written = serde_json::to_string(&text).unwrap().len() - 2; // minus the quotes
        assert_eq!(json_escaped_len(&all), written);
        let utf8 = "héllo €".as_bytes();
        assert_eq!(
            json_escaped_len(utf8),
            serde_json::to_string("héllo €").unwrap().len() - 2
        );
    }

    #[test]
    fn streamed_pieces_never_split_a_character() {
        let (sink, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let euro = "€".as_bytes(); // three bytes
        assert_eq!(send_whole_chars(&sink, &[b'a', euro[0]]), 1);
        assert_eq!(rx.try_recv().unwrap(), "a");
        assert_eq!(send_whole_chars(&sink, &euro[..2]), 0);
        assert!(rx.try_recv().is_err(), "nothing whole to send yet");
        assert_eq!(send_whole_chars(&sink, euro), 3);
        assert_eq!(rx.try_recv().unwrap(), "€");
        assert_eq!(
            send_whole_chars(&sink, &[0xff, b'a']),
            0,
            "invalid bytes are not sent"
        );
    }
}
