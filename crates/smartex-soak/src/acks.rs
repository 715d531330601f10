//! What the business step saw: each instance appends one line per outbox
//! item it handled (before acknowledging it), and the audit reads them back.
//! One format, written and read here.
//!
//! A line is tab-separated: the event id, the status, `1` if current else
//! `0`, the source, the item's amounts (`inAmount`, `outAmount`, `xml_from`,
//! `xml_to`) and the expected ones, the payment view and the amount check.
//! An absent text is `-`, a present one `=` and the text exactly as the item
//! carried it (amounts are decimals: no tab or line break to escape).

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use smartex::OutboxItem;
use smartex::core::amounts::Amounts;

/// One item as the business step saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct AckLine {
    /// The event-log row of the change.
    pub(crate) event_id: i64,
    /// The status the change reports.
    pub(crate) status: String,
    /// Whether it became the order's current status (`false`: history).
    pub(crate) current: bool,
    /// `ipn` or `poll`.
    pub(crate) source: String,
    /// The amounts the change carried.
    pub(crate) amounts: Amounts,
    /// What the order was expected to carry.
    pub(crate) expected: Amounts,
    /// [`OutboxItem::payment`], as its stable name.
    pub(crate) payment: String,
    /// [`OutboxItem::amount_check`], as its stable name.
    pub(crate) check: String,
}

const FIELDS: usize = 14;

impl AckLine {
    /// What the business step records of `item`.
    pub(crate) fn of(item: &OutboxItem) -> AckLine {
        AckLine {
            event_id: item.event_id,
            status: item.status.as_str().to_owned(),
            current: item.current,
            source: item.source.as_str().to_owned(),
            amounts: item.amounts.clone(),
            expected: item.expected.clone(),
            payment: item.payment().as_str().to_owned(),
            check: item.amount_check().as_str().to_owned(),
        }
    }

    /// The line, without its line break.
    fn to_line(&self) -> String {
        let text = |t: &Option<String>| t.as_ref().map_or("-".to_owned(), |t| format!("={t}"));
        let amounts = |a: &Amounts| {
            [&a.in_amount, &a.out_amount, &a.from, &a.to]
                .into_iter()
                .map(text)
                .collect::<Vec<_>>()
                .join("\t")
        };
        format!(
            "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
            self.event_id,
            self.status,
            u8::from(self.current),
            self.source,
            amounts(&self.amounts),
            amounts(&self.expected),
            self.payment,
            self.check
        )
    }

    /// Reads a line [`to_line`](Self::to_line) wrote; `None` if it is not one.
    fn parse(line: &str) -> Option<AckLine> {
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() != FIELDS {
            return None;
        }
        let text = |t: &str| match t {
            "-" => Some(None),
            _ => t.strip_prefix('=').map(|t| Some(t.to_owned())),
        };
        let amounts = |at: usize| {
            Some(Amounts {
                in_amount: text(f[at])?,
                out_amount: text(f[at + 1])?,
                from: text(f[at + 2])?,
                to: text(f[at + 3])?,
            })
        };
        Some(AckLine {
            event_id: f[0].parse().ok()?,
            status: f[1].to_owned(),
            current: match f[2] {
                "1" => true,
                "0" => false,
                _ => return None,
            },
            source: f[3].to_owned(),
            amounts: amounts(4)?,
            expected: amounts(8)?,
            payment: f[12].to_owned(),
            check: f[13].to_owned(),
        })
    }

    /// Appends the line to `path` and syncs it, so that the orchestrator can
    /// check that every delivered change got here.
    pub(crate) fn append(&self, path: &Path) -> std::io::Result<()> {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        file.write_all(format!("{}\n", self.to_line()).as_bytes())?;
        file.sync_data()
    }
}

/// Every instance's lines: the first line of each event, and how many were
/// written (redeliveries included).
#[derive(Debug, Default)]
pub(crate) struct Acks {
    pub(crate) by_event: HashMap<i64, AckLine>,
    pub(crate) lines: usize,
    /// Lines that do not read back (must be none).
    pub(crate) unreadable: usize,
    /// Redeliveries of an item that differ from its first delivery (must be
    /// none: an item never changes).
    pub(crate) inconsistent: Vec<i64>,
}

impl Acks {
    /// Reads the file of each instance slot in `dir` (`acks-{slot}.log`).
    pub(crate) fn read(dir: &Path, instances: usize) -> Acks {
        let mut acks = Acks::default();
        for slot in 0..instances {
            // No file: that instance acknowledged nothing yet.
            let Ok(text) = std::fs::read_to_string(dir.join(format!("acks-{slot}.log"))) else {
                continue;
            };
            for line in text.lines() {
                acks.lines += 1;
                let Some(ack) = AckLine::parse(line) else {
                    acks.unreadable += 1;
                    continue;
                };
                match acks.by_event.get(&ack.event_id) {
                    Some(first) if *first != ack => acks.inconsistent.push(ack.event_id),
                    Some(_) => {}
                    None => {
                        acks.by_event.insert(ack.event_id, ack);
                    }
                }
            }
        }
        acks
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_reads_back_as_written() {
        let some = |s: &str| Some(s.to_owned());
        let line = AckLine {
            event_id: 42,
            status: "done".to_owned(),
            current: false,
            source: "ipn".to_owned(),
            amounts: Amounts {
                in_amount: some("1.90"),
                out_amount: some(""),
                from: some("ETH"),
                to: None,
            },
            expected: Amounts::default(),
            payment: "received".to_owned(),
            check: "less".to_owned(),
        };
        assert_eq!(AckLine::parse(&line.to_line()), Some(line.clone()));
        let mut current = line;
        current.current = true;
        assert_eq!(AckLine::parse(&current.to_line()), Some(current));
        assert_eq!(AckLine::parse("17"), None);
        assert_eq!(
            AckLine::parse("x\td\t1\tipn\t-\t-\t-\t-\t-\t-\t-\t-\tr\tc"),
            None
        );
    }
}
