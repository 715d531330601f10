//! The `smartex` command; see the `smartex_cli` library for what it does.

fn main() -> std::process::ExitCode {
    smartex_cli::run(std::env::args_os()).into()
}
