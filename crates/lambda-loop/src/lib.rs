//! `lambda_loop`: the Lambda Runtime API loop both of the project's functions run
//! (`xaa-bridge` and `xaa-tool`), generic over the handler.
//!
//! - `runtime`: [`run`] polls `AWS_LAMBDA_RUNTIME_API` and answers each [`Invocation`] with
//!   the handler's answer or its [`Diagnostic`] (Lambda's `errorType`/`errorMessage`). It
//!   reads only the headers it uses, so a client context or Cognito identity it could not
//!   type never ends the process (the module's doc says why not `lambda_runtime`).
//!   [`report_init_error`] tells the Runtime API that init failed, for a function that
//!   then exits. [`Invocation::time_left`] turns Lambda's deadline into the time an invocation may
//!   still spend.

mod runtime;

pub use lambda_runtime_api_client::BoxError;
pub use runtime::{report_init_error, run, Diagnostic, Invocation, EARLIEST_PLAUSIBLE_DEADLINE_MS};
