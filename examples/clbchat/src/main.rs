//! `clbchat`: the national anonymous desk (CLBch@t). See `clbchat --help`.

fn main() -> std::process::ExitCode {
    clbchat_assembly::service::main(&clbchat::SERVICE)
}
