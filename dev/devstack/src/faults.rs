//! Faults of the Bedrock stand-in: the one a prompt asks for (`devstack-fault:<kind>`) and
//! the one set with [`Devstack::set_bedrock_fault`](crate::Devstack::set_bedrock_fault).

use std::time::Duration;

use crate::bedrock::FAULT_PREFIX;
use crate::{BedrockFault, State};

pub(crate) enum Fault {
    Throttle,
    MidStream {
        exception_type: String,
        after_chunks: u32,
    },
    Slow(Duration),
}

/// `devstack-fault:<kind>` at the start of the prompt; `Err` names an unknown kind.
pub(crate) fn prompt_fault(input_text: &str) -> Result<Option<Fault>, String> {
    let Some(rest) = input_text.trim_start().strip_prefix(FAULT_PREFIX) else {
        return Ok(None);
    };
    let word = rest.split_whitespace().next().unwrap_or("");
    let (kind, arg) = word
        .split_once('=')
        .map_or((word, None), |(k, a)| (k, Some(a)));
    match (kind, arg) {
        ("throttle", None) => Ok(Some(Fault::Throttle)),
        ("midstream", arg) => Ok(Some(Fault::MidStream {
            exception_type: arg.unwrap_or("throttlingException").to_string(),
            after_chunks: 1,
        })),
        ("slow", arg) => {
            let secs = arg.map_or(Some(5), |a| a.parse::<u64>().ok().filter(|s| *s <= 600));
            secs.map(|s| Some(Fault::Slow(Duration::from_secs(s))))
                .ok_or_else(|| format!("devstack-fault:slow takes whole seconds up to 600, not '{}'", arg.unwrap_or("")))
        }
        _ => Err(format!("Unknown devstack-fault kind '{kind}': use throttle, midstream[=exceptionType] or slow[=secs].")),
    }
}

/// The configured fault for this call, consuming one of its `times`.
pub(crate) fn configured_fault(state: &State) -> Option<Fault> {
    let mut inner = state.lock();
    match inner.bedrock_fault.clone() {
        BedrockFault::None | BedrockFault::UnknownAgent => None,
        BedrockFault::Slow(delay) => Some(Fault::Slow(delay)),
        BedrockFault::ThrottleBeforeStream { times } => {
            inner.bedrock_fault = if times > 1 {
                BedrockFault::ThrottleBeforeStream { times: times - 1 }
            } else {
                BedrockFault::None
            };
            (times > 0).then_some(Fault::Throttle)
        }
        BedrockFault::ExceptionMidStream {
            exception_type,
            times,
            after_chunks,
        } => {
            inner.bedrock_fault = if times > 1 {
                BedrockFault::ExceptionMidStream {
                    exception_type: exception_type.clone(),
                    times: times - 1,
                    after_chunks,
                }
            } else {
                BedrockFault::None
            };
            (times > 0).then_some(Fault::MidStream {
                exception_type,
                after_chunks,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_prefix_is_parsed() {
        assert!(matches!(
            prompt_fault("devstack-fault:throttle hi"),
            Ok(Some(Fault::Throttle))
        ));
        assert!(
            matches!(prompt_fault("devstack-fault:slow=2"), Ok(Some(Fault::Slow(d))) if d == Duration::from_secs(2))
        );
        assert!(
            matches!(prompt_fault("devstack-fault:midstream=accessDeniedException"),
            Ok(Some(Fault::MidStream { exception_type, after_chunks: 1 })) if exception_type == "accessDeniedException")
        );
        assert!(prompt_fault("devstack-fault:boom").is_err());
        assert!(matches!(prompt_fault("hello"), Ok(None)));
    }
}
