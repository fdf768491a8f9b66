//! The Lambda log layer. lambda_runtime wraps each invocation in a span named
//! [`INVOCATION_SPAN`] carrying `requestId` and `xrayTraceId`; this layer remembers them while
//! that span is open and puts them in every JSON log line, whichever task logs (a function
//! handles one invocation at a time, and the publisher's targets run on tasks of their own).
//! Metric events are gathered and written as EMF lines when the invocation ends (or at once
//! outside one, at init).

use super::emf::Emf;
use serde_json::{Map, Value, json};
use std::io::Write;
use std::sync::Mutex;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer};

/// The span lambda_runtime opens for each invocation.
pub const INVOCATION_SPAN: &str = "Lambda runtime invoke";

#[derive(Default)]
struct Invocation {
    span: Option<Id>,
    request_id: Option<String>,
    trace_id: Option<String>,
}

pub struct LambdaLayer<W> {
    function: String,
    make_writer: W,
    state: Mutex<(Invocation, Emf)>,
}

impl<W> LambdaLayer<W>
where
    W: Fn() -> Box<dyn Write> + Send + Sync + 'static,
{
    /// Writes through `make_writer` (stdout on Lambda, a buffer in tests), one line a call.
    pub fn with_writer(function: &str, make_writer: W) -> Self {
        LambdaLayer {
            function: function.to_owned(),
            make_writer,
            state: Mutex::default(),
        }
    }

    fn write(&self, line: &str) {
        let mut out = (self.make_writer)();
        // One write per line so concurrent lines never interleave.
        let _ = out.write_all(format!("{line}\n").as_bytes());
        let _ = out.flush();
    }

    fn flush(&self, invocation: &Invocation, emf: &mut Emf) {
        if emf.is_empty() {
            return;
        }
        let mut properties = Vec::new();
        if let Some(id) = &invocation.request_id {
            properties.push(("requestId", id.as_str()));
        }
        if let Some(id) = &invocation.trace_id {
            properties.push(("traceId", id.as_str()));
        }
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or_default();
        for line in emf.take_lines(&self.function, now_ms, &properties) {
            self.write(&line);
        }
    }
}

impl LambdaLayer<fn() -> Box<dyn Write>> {
    /// On Lambda: stdout, which the runtime sends to CloudWatch Logs.
    pub fn stdout(function: &str) -> Self {
        fn stdout() -> Box<dyn Write> {
            Box::new(std::io::stdout())
        }
        LambdaLayer::with_writer(function, stdout as fn() -> Box<dyn Write>)
    }
}

/// An event's or span's fields as JSON members.
#[derive(Default)]
struct Fields(Map<String, Value>);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0
            .insert(field.name().into(), json!(format!("{value:?}")));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().into(), json!(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().into(), json!(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().into(), json!(value));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().into(), json!(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().into(), json!(value));
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.0.insert(field.name().into(), json!(value.to_string()));
    }
}

impl<S, W> Layer<S> for LambdaLayer<W>
where
    S: Subscriber,
    W: Fn() -> Box<dyn Write> + Send + Sync + 'static,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, _ctx: Context<'_, S>) {
        if attrs.metadata().name() != INVOCATION_SPAN {
            return;
        }
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        let text = |k: &str| fields.0.get(k).and_then(Value::as_str).map(str::to_owned);
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let (invocation, emf) = &mut *state;
        // What init recorded leaves before the invocation's own.
        self.flush(invocation, emf);
        *invocation = Invocation {
            span: Some(id.clone()),
            request_id: text("requestId"),
            trace_id: text("xrayTraceId"),
        };
    }

    fn on_close(&self, id: Id, _ctx: Context<'_, S>) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let (invocation, emf) = &mut *state;
        if invocation.span.as_ref() == Some(&id) {
            self.flush(invocation, emf);
            *invocation = Invocation::default();
        }
    }

    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let meta = event.metadata();
        let mut fields = Fields::default();
        event.record(&mut fields);
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let (invocation, emf) = &mut *state;
        if meta.target() == herald_app::observe::TARGET {
            let f = &fields.0;
            if let (Some(metric), Some(value), Some(unit)) = (
                f.get("metric").and_then(Value::as_str),
                f.get("value").and_then(Value::as_f64),
                f.get("unit").and_then(Value::as_str),
            ) {
                emf.add(
                    metric,
                    value,
                    unit,
                    f.get("network").and_then(Value::as_str),
                );
                if invocation.span.is_none() {
                    self.flush(invocation, emf);
                }
            }
            return;
        }
        let mut line = Map::new();
        line.insert("level".into(), json!(meta.level().as_str()));
        line.insert("target".into(), json!(meta.target()));
        if let Some(id) = &invocation.request_id {
            line.insert("requestId".into(), json!(id));
        }
        if let Some(id) = &invocation.trace_id {
            line.insert("traceId".into(), json!(id));
        }
        for (k, v) in fields.0 {
            line.insert(k, v);
        }
        drop(state);
        self.write(&Value::Object(line).to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use tracing_subscriber::layer::SubscriberExt;

    type Lines = Arc<Mutex<Vec<u8>>>;

    struct Buffer(Lines);
    impl Write for Buffer {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn lines(out: &Lines) -> Vec<Value> {
        String::from_utf8(out.lock().unwrap().clone())
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    }

    fn subscriber(out: &Lines) -> impl Subscriber + Send + Sync {
        let out = out.clone();
        let make = move || Box::new(Buffer(out.clone())) as Box<dyn Write>;
        tracing_subscriber::registry().with(LambdaLayer::with_writer("herald-publisher", make))
    }

    #[test]
    fn log_lines_carry_the_invocation_ids_and_metrics_leave_once_when_it_ends() {
        let out = Lines::default();
        tracing::subscriber::with_default(subscriber(&out), || {
            tracing::info!(ready = true, "init done");
            herald_app::observe::post_published(herald_domain::Platform::Bluesky, Some(1500));
            let span = tracing::info_span!(
                "Lambda runtime invoke",
                requestId = "req-1",
                xrayTraceId = "Root=1-abc"
            );
            {
                let _in = span.enter();
                tracing::warn!(post = "post_1", "target failed");
                herald_app::observe::post_published(herald_domain::Platform::Bluesky, Some(40));
                herald_app::observe::post_published(herald_domain::Platform::Bluesky, Some(60));
                herald_app::observe::post_failed(herald_domain::Platform::Bluesky);
                herald_app::observe::webhook_attempt(true);
            }
            // Nothing of the invocation's metrics is out before it ends.
            assert_eq!(lines(&out).len(), 4, "{:?}", lines(&out));
            drop(span);
            tracing::info!("between invocations");
        });
        let lines = lines(&out);
        // init log, init metrics (at once, each its line), the invocation's log, its two EMF
        // lines, the log after.
        assert_eq!(lines.len(), 7, "{lines:#?}");
        assert_eq!(lines[0]["message"], "init done");
        assert!(lines[0].get("requestId").is_none());
        assert_eq!(lines[1]["PostsPublished"], 1);
        assert_eq!(lines[2]["PublishLateness"], 1500);
        assert!(lines[2].get("requestId").is_none());
        assert_eq!(lines[3]["requestId"], "req-1");
        assert_eq!(lines[3]["traceId"], "Root=1-abc");
        assert_eq!(lines[3]["level"], "WARN");
        assert_eq!(lines[3]["post"], "post_1");
        let bluesky = lines
            .iter()
            .find(|l| l["network"] == "bluesky" && l["requestId"] == "req-1")
            .expect("the invocation's bluesky metrics");
        assert_eq!(bluesky["PostsPublished"], 2);
        assert_eq!(bluesky["PostsFailed"], 1);
        assert_eq!(bluesky["PublishLateness"], json!([40, 60]));
        assert_eq!(bluesky["function"], "herald-publisher");
        let hooks = lines
            .iter()
            .find(|l| !l["WebhookDeliveriesSucceeded"].is_null())
            .expect("the webhook metric");
        assert_eq!(hooks["WebhookDeliveriesSucceeded"], 1);
        assert_eq!(lines[6]["message"], "between invocations");
        assert!(lines[6].get("requestId").is_none(), "{}", lines[6]);
    }
}
