//! `blended-chat`: planned chats between a counsellor and a known client. See
//! `blended-chat --help`.

fn main() -> std::process::ExitCode {
    clbchat_assembly::service::main(&blended_chat::SERVICE)
}
