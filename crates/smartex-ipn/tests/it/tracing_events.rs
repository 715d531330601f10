//! With the `tracing` feature: every refusal and acceptance is an event, and
//! no event carries the secret, the checksum or a requisite.

use std::sync::{Arc, Mutex};

use smartex_ipn::{IpnRequest, IpnSecret, Receiver};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

use crate::common::{FORM, SECRET, checksum_of, secret, signed_body};

/// A minimal subscriber that writes every event's fields into a string.
#[derive(Clone, Default)]
struct Collect(Arc<Mutex<Vec<String>>>);

struct Line<'a>(&'a mut String);

impl Visit for Line<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.push_str(&format!("{}={value:?} ", field.name()));
    }
}

impl Subscriber for Collect {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut line = format!("{} ", event.metadata().level());
        event.record(&mut Line(&mut line));
        self.0.lock().unwrap().push(line);
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

#[test]
fn events_for_every_outcome_and_never_a_secret() {
    let collect = Collect::default();
    let body = signed_body("5d8e6002b80b7b4cd75a6424", "done", 1_700_000_000_000);
    let checksum = checksum_of(&body);
    tracing::subscriber::with_default(collect.clone(), || {
        let r = Receiver::new();
        let request = IpnRequest::new("POST", body.as_bytes()).content_type(FORM);
        let now = smartex_ipn::UnixMillis::from_millis(1_700_000_000_000);
        assert!(r.receive(&request, &secret(), now).is_ok());
        assert!(r.receive(&request, &secret(), now).is_err()); // replay
        let wrong = IpnSecret::new("wrong").unwrap();
        let fresh = Receiver::new();
        assert!(fresh.receive(&request, &wrong, now).is_err()); // bad checksum
        assert!(fresh.receive(&request, &None::<IpnSecret>, now).is_err()); // unknown order
        assert!(fresh.parse(&IpnRequest::new("GET", b"")).is_err()); // wrong method
    });
    let lines = collect.0.lock().unwrap().clone();
    assert_eq!(lines.len(), 5, "{lines:#?}");
    assert!(
        lines[0].starts_with("INFO") && lines[0].contains("IPN verified"),
        "{lines:#?}"
    );
    assert!(lines[0].contains("status=\"done\""), "{lines:#?}");
    assert!(
        lines[1].starts_with("DEBUG") && lines[1].contains("already received"),
        "{lines:#?}"
    );
    assert!(
        lines[2].starts_with("WARN") && lines[2].contains("does not match"),
        "{lines:#?}"
    );
    assert!(
        lines[3].starts_with("WARN") && lines[3].contains("unknown order"),
        "{lines:#?}"
    );
    assert!(
        lines[4].starts_with("INFO") && lines[4].contains("method"),
        "{lines:#?}"
    );
    for line in &lines {
        assert!(!line.contains(SECRET), "{line}");
        assert!(!line.contains(&checksum), "{line}");
        assert!(!line.contains("Z123"), "{line}");
    }
}
