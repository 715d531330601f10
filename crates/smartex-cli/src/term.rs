//! The terminal: colour only on a terminal (and never with `NO_COLOR`), and a
//! spinner on stderr while waiting, only when stderr is a terminal.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

/// Whether colour is allowed at all: `NO_COLOR` unset or empty
/// (<https://no-color.org>), and a terminal that is not `dumb`.
fn colour_allowed() -> bool {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let dumb = std::env::var_os("TERM").is_some_and(|t| t == "dumb");
    !no_color && !dumb
}

/// How to paint text: ANSI colours, or none.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Style {
    colour: bool,
}

impl Style {
    /// Colour when stdout is a terminal and colour is allowed.
    pub(crate) fn for_stdout() -> Style {
        Style {
            colour: std::io::stdout().is_terminal() && colour_allowed(),
        }
    }

    /// Colour when stderr is a terminal and colour is allowed.
    pub(crate) fn for_stderr() -> Style {
        Style {
            colour: std::io::stderr().is_terminal() && colour_allowed(),
        }
    }

    fn paint(self, code: &str, text: &str) -> String {
        if self.colour {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    /// Green: success.
    pub(crate) fn ok(self, text: &str) -> String {
        self.paint("32", text)
    }

    /// Red: failure.
    pub(crate) fn bad(self, text: &str) -> String {
        self.paint("31", text)
    }

    /// Yellow: worth a look.
    pub(crate) fn warn(self, text: &str) -> String {
        self.paint("33", text)
    }

    /// Bold.
    pub(crate) fn bold(self, text: &str) -> String {
        self.paint("1", text)
    }

    /// Dim: secondary detail.
    pub(crate) fn dim(self, text: &str) -> String {
        self.paint("2", text)
    }
}

/// What the spinner thread and the printer share.
#[derive(Default)]
struct SpinState {
    /// What the spinner says; `None`: hidden.
    message: Option<String>,
    /// Whether a spinner line is on the screen now.
    drawn: bool,
    frame: usize,
}

const FRAMES: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
const CLEAR_LINE: &str = "\r\x1b[2K";

struct Spinner {
    state: Arc<Mutex<SpinState>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

fn lock(state: &Mutex<SpinState>) -> MutexGuard<'_, SpinState> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Spinner {
    fn start() -> Spinner {
        let state = Arc::new(Mutex::new(SpinState::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (state, stop) = (Arc::clone(&state), Arc::clone(&stop));
            std::thread::Builder::new()
                .name("smartex-spinner".to_owned())
                .spawn(move || {
                    while !stop.load(Ordering::Acquire) {
                        std::thread::sleep(Duration::from_millis(80));
                        let mut st = lock(&state);
                        if let Some(message) = st.message.clone() {
                            st.frame = (st.frame + 1) % FRAMES.len();
                            let mut err = std::io::stderr().lock();
                            let _ = write!(err, "{CLEAR_LINE}{} {message}", FRAMES[st.frame]);
                            let _ = err.flush();
                            st.drawn = true;
                        }
                    }
                })
                .ok()
        };
        Spinner {
            state,
            stop,
            thread,
        }
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        let mut st = lock(&self.state);
        if st.drawn {
            let _ = write!(std::io::stderr(), "{CLEAR_LINE}");
            st.drawn = false;
        }
    }
}

/// Where a command's human output goes: lines on `out` (stdout, usually),
/// and — only when stderr is a terminal — a spinner on stderr while waiting,
/// cleared before every line so the two never mix.
pub(crate) struct Printer<'w> {
    out: Mutex<&'w mut (dyn Write + Send)>,
    style: Style,
    /// Whether a spinner may be shown.
    spin: bool,
    /// The spinner, started the first time it is needed.
    spinner: Mutex<Option<Spinner>>,
}

impl<'w> Printer<'w> {
    /// A printer on `out`, painting with `style`, with a spinner if `spinner`.
    pub(crate) fn new(out: &'w mut (dyn Write + Send), style: Style, spinner: bool) -> Self {
        Printer {
            out: Mutex::new(out),
            style,
            spin: spinner,
            spinner: Mutex::new(None),
        }
    }

    /// A printer on stdout: colour and spinner as the terminal allows.
    pub(crate) fn stdout(out: &'w mut (dyn Write + Send)) -> Self {
        let spinner =
            std::io::stderr().is_terminal() && std::env::var_os("TERM").is_none_or(|t| t != "dumb");
        Printer::new(out, Style::for_stdout(), spinner)
    }

    fn spinner(&self) -> MutexGuard<'_, Option<Spinner>> {
        self.spinner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The style lines are painted with.
    pub(crate) fn style(&self) -> Style {
        self.style
    }

    /// Writes one line (a write error, such as a closed pipe, is ignored: the
    /// command's exit code still tells the outcome).
    pub(crate) fn line(&self, text: impl AsRef<str>) {
        let spinner = self.spinner();
        let _guard = spinner.as_ref().map(|s| {
            let mut st = lock(&s.state);
            if st.drawn {
                let _ = write!(std::io::stderr(), "{CLEAR_LINE}");
                st.drawn = false;
            }
            st
        });
        let mut out = self.out.lock().unwrap_or_else(PoisonError::into_inner);
        let _ = writeln!(out, "{}", text.as_ref());
        let _ = out.flush();
    }

    /// Shows the spinner with `message` (no-op without a spinner).
    pub(crate) fn waiting(&self, message: impl Into<String>) {
        if !self.spin {
            return;
        }
        let mut spinner = self.spinner();
        let s = spinner.get_or_insert_with(Spinner::start);
        lock(&s.state).message = Some(message.into());
    }

    /// Hides the spinner.
    pub(crate) fn done_waiting(&self) {
        if let Some(s) = self.spinner().as_ref() {
            let mut st = lock(&s.state);
            st.message = None;
            if st.drawn {
                let _ = write!(std::io::stderr(), "{CLEAR_LINE}");
                st.drawn = false;
            }
        }
    }
}

/// Text the command did not write itself (received in a notification, read
/// from a store, given as an argument) as it may be printed: control
/// characters, line and bidi separators escaped, length bounded
/// ([`smartex_core::Escaped`]) — a forged body or a stored value cannot
/// paint a line of its own ("✓ verified …") on the operator's terminal.
pub(crate) fn esc(text: &str) -> smartex_core::Escaped<'_> {
    smartex_core::Escaped(text)
}

/// Writes `text` and a newline to stderr, ignoring errors.
pub(crate) fn eprint_line(text: &str) {
    let _ = writeln!(std::io::stderr(), "{text}");
}
