//! How the functions log: as `lambda_runtime`'s default subscriber does (JSON when
//! `AWS_LAMBDA_LOG_FORMAT=JSON`, the level from `AWS_LAMBDA_LOG_LEVEL`, else `RUST_LOG`,
//! else INFO), except that the Lambda runtime's own targets are capped at INFO whatever the
//! settings (a filter of its own, so that no directive, however specific, lifts it): at TRACE
//! it logs every raw event, headers (`X-ApiKey`, `Authorization`) and query string (`?key=`)
//! included, and no setting may put a key in a log.

use std::str::FromStr;
use tracing::{Level, Metadata};
use tracing_subscriber::filter::{EnvFilter, LevelFilter};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

/// The runtime crates whose TRACE and DEBUG output can carry a raw event.
const CAPPED_TARGETS: [&str; 3] = ["lambda_runtime", "lambda_http", "lambda_runtime_api_client"];

/// Whether a log line may be written whatever the settings say: not above INFO for the
/// runtime's targets and their modules.
fn under_cap(meta: &Metadata<'_>) -> bool {
    let target = meta.target();
    let capped = CAPPED_TARGETS.iter().any(|t| {
        target
            .strip_prefix(t)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
    });
    !capped || *meta.level() <= Level::INFO
}

/// The settings' filter (`lambda_level`: `AWS_LAMBDA_LOG_LEVEL`; `rust_log`: `RUST_LOG`,
/// a level or directives), as `lambda_runtime`'s default subscriber reads them.
fn settings_filter(lambda_level: Option<&str>, rust_log: Option<&str>) -> EnvFilter {
    let level = lambda_level
        .or(rust_log)
        .and_then(|l| LevelFilter::from_str(l.trim()).ok())
        .unwrap_or(LevelFilter::INFO);
    EnvFilter::builder()
        .with_default_directive(level.into())
        .parse_lossy(rust_log.unwrap_or_default())
}

/// The functions' subscriber for these settings, writing to `writer`.
fn subscriber<W>(
    lambda_level: Option<&str>,
    rust_log: Option<&str>,
    json: bool,
    writer: W,
) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let format = tracing_subscriber::fmt::layer()
        .with_target(false)
        .without_time()
        .with_writer(writer);
    let format: Box<dyn Layer<_> + Send + Sync> = if json {
        Box::new(format.json())
    } else {
        Box::new(format)
    };
    // Two global filters: a line is written only if both let it through.
    tracing_subscriber::registry()
        .with(settings_filter(lambda_level, rust_log))
        .with(tracing_subscriber::filter::filter_fn(under_cap))
        .with(format)
}

/// Installs the subscriber for a Lambda function, writing to stdout.
pub fn init() {
    let var = |name| std::env::var(name).ok();
    let json = var("AWS_LAMBDA_LOG_FORMAT").is_some_and(|f| f.eq_ignore_ascii_case("json"));
    subscriber(
        var("AWS_LAMBDA_LOG_LEVEL").as_deref(),
        var("RUST_LOG").as_deref(),
        json,
        std::io::stdout,
    )
    .init();
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// A writer into a shared buffer.
    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// What is logged under these settings when the runtime logs a raw event at TRACE and
    /// our own code logs at TRACE.
    fn logged(lambda_level: Option<&str>, rust_log: Option<&str>) -> String {
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = subscriber(lambda_level, rust_log, false, move || writer.clone());
        tracing::subscriber::with_default(subscriber, || {
            tracing::trace!(
                target: "lambda_runtime::layers::api_response",
                body = "{\"headers\":{\"x-apikey\":\"sup3r-s3cret\"}}",
                "raw JSON event received from Lambda"
            );
            tracing::debug!(target: "lambda_http::request", key = "sup3r-s3cret", "request");
            tracing::trace!(target: "shared::auth", "our own trace line");
            tracing::info!(target: "lambda_runtime", "runtime info line");
        });
        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        text
    }

    #[test]
    fn no_setting_lets_the_runtime_log_a_raw_event() {
        for (lambda_level, rust_log) in [
            (Some("TRACE"), None),
            (None, Some("trace")),
            (
                Some("trace"),
                Some("lambda_runtime=trace,lambda_http=trace"),
            ),
            (
                None,
                Some("lambda_runtime::layers=trace,lambda_http::request=debug"),
            ),
            (Some("DEBUG"), Some("lambda_runtime_api_client=trace")),
        ] {
            let text = logged(lambda_level, rust_log);
            assert!(
                !text.contains("sup3r"),
                "{lambda_level:?} {rust_log:?}:\n{text}"
            );
            // The runtime's INFO lines are still there, where the settings ask for them.
            if !rust_log.is_some_and(|r| r.contains('=')) {
                assert!(
                    text.contains("runtime info line"),
                    "{lambda_level:?} {rust_log:?}: {text:?}"
                );
            }
        }
        // Our own code still logs at TRACE when asked to.
        assert!(logged(Some("TRACE"), None).contains("our own trace line"));
        assert!(!logged(None, None).contains("our own trace line"));
    }
}
