//! `chat-met-je-clb`: every CLB centre's own chatbox, opened for an event. See
//! `chat-met-je-clb --help`.

fn main() -> std::process::ExitCode {
    clbchat_assembly::service::main(&chat_met_je_clb::SERVICE)
}
