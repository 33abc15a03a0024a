//! Servers for the tests: in process ([`InProcess`], an [`App`] on port 0 over a SQLite file
//! in a temporary folder) or as the real binary ([`Binary`], for signals, exit codes and
//! what it prints). Both learn their address from the server itself, never by guessing.

use std::path::{Path, PathBuf};

use clbchat_assembly::settings::Settings;
pub use clbchat_assembly::testing::{Binary, Program};
use clbchat_assembly::App;
use clbchat_core::account::{Account, StaffIdentity, StaffRole};
use clbchat_core::auth::hash_password;
use clbchat_core::event::Discipline;
use clbchat_core::ids::{ConversationId, DeskId, StaffId};
use clbchat_core::store::Store;
use clbchat_transport_ws::client::Client;
use clbchat_transport_ws::protocol::{ClientFrame, ServerFrame};

pub const DESK: &str = "clbchat";
pub const PASSWORD: &str = "correct horse battery";

pub fn desk() -> DeskId {
    DeskId::new(DESK)
}

/// Settings for a test: port 0, the database and key file in `dir`.
pub fn settings_in(dir: &Path) -> Settings {
    let mut s = Settings::default();
    s.server.listen = "127.0.0.1:0".parse().unwrap();
    s.server.shutdown_deadline_secs = 5;
    s.storage.url = format!("sqlite://{}", dir.join("clbchat.db").display());
    s.pseudonyms.key_file = dir.join("keys.toml");
    s
}

/// A server running in this process.
pub struct InProcess(clbchat_assembly::app::Running);

impl std::ops::Deref for InProcess {
    type Target = clbchat_assembly::app::Running;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl InProcess {
    pub async fn start(settings: Settings) -> InProcess {
        let parts = clbchat::SERVICE
            .parts(&settings)
            .expect("the desk's settings");
        Self::start_with(settings, parts).await
    }

    /// With parts in place of the defaults (a clock, shorter timeouts…); the pages are
    /// clbchat's.
    pub async fn start_with(
        settings: Settings,
        mut parts: clbchat_assembly::app::Parts,
    ) -> InProcess {
        parts.pages.get_or_insert(clbchat::PAGES);
        InProcess(
            App::start_with(settings, parts)
                .await
                .expect("server starts")
                .spawn(),
        )
    }

    pub fn http(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn ws(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    /// The origin the server allows by default (its own address).
    pub fn origin(&self) -> String {
        format!("http://127.0.0.1:{}", self.addr.port())
    }

    /// Stops gracefully and waits until it has.
    pub async fn stop(self) {
        self.0.stop().await;
    }

    /// Adds an account straight into the store.
    pub async fn account(&self, id: &str, role: StaffRole, discipline: Discipline) {
        add_account(self.shared.store.as_ref(), id, role, discipline).await;
    }
}

/// A visitor arrives (no token, no profile): (conversation, resume token, visitor token).
pub async fn arrive(visitor: &Client) -> (ConversationId, String, Option<String>) {
    match visitor
        .request(ClientFrame::Arrive {
            desk: desk(),
            visitor_token: None,
            profile: Default::default(),
            appointment: None,
        })
        .await
        .expect("arrive answered")
    {
        ServerFrame::Welcome {
            conversation,
            resume_token,
            visitor_token,
            ..
        } => (conversation, resume_token, visitor_token),
        other => panic!("arrive: {other:?}"),
    }
}

pub async fn add_account(store: &dyn Store, id: &str, role: StaffRole, discipline: Discipline) {
    store
        .put_account(&Account {
            username: id.into(),
            password_hash: hash_password(PASSWORD).unwrap(),
            active: true,
            identity: StaffIdentity {
                id: StaffId::new(id),
                alias: format!("Alias {id}"),
                role,
                discipline,
                desks: vec![desk()],
                capacity: 2,
                centre: None,
            },
        })
        .await
        .unwrap();
}

/// A staff client, logged in.
pub async fn staff(url: &str, origin: &str, id: &str) -> Client {
    let c = Client::connect(url, Some(origin)).await.expect("connects");
    match c
        .request(ClientFrame::Login {
            username: id.into(),
            password: PASSWORD.into(),
        })
        .await
        .expect("login answered")
    {
        ServerFrame::LoggedIn { .. } => c,
        other => panic!("login of {id}: {other:?}"),
    }
}

/// Waits for a `chat_assigned` event; a closed connection fails the test at once.
pub async fn wait_assigned(staff: &mut Client) {
    loop {
        match staff.next_event().await {
            Some(clbchat_core::event::ServerEvent::ChatAssigned { .. }) => return,
            Some(_) => continue,
            None => panic!(
                "closed before a chat was assigned: {:?}",
                staff.close_reason()
            ),
        }
    }
}

/// The real `clbchat` binary.
pub fn program() -> Program {
    Program {
        path: PathBuf::from(env!("CARGO_BIN_EXE_clbchat")),
        name: "clbchat",
    }
}

/// Ann, a medical counsellor, added with the command line in `dir` (the password on stdin).
pub fn add_ann(dir: &Path) {
    accounts_add(dir, &["ann", "--alias", "Ann", "--discipline", "medical"]);
}

/// `accounts add` with `args` (the user name first) on the command line in `dir`, the
/// password on stdin.
pub fn accounts_add(dir: &Path, args: &[&str]) {
    let mut all = vec!["accounts", "add"];
    all.extend_from_slice(args);
    let (code, _, err) = run_binary(dir, &all, &[], &format!("{PASSWORD}\n"));
    assert_eq!(code, 0, "{err}");
}

/// `clbchat` run to completion with `args`, in `dir`, with `env`; (exit code, stdout,
/// stderr).
pub fn run_binary(
    dir: &Path,
    args: &[&str],
    env: &[(&str, &str)],
    stdin: &str,
) -> (i32, String, String) {
    program().run(dir, args, env, stdin)
}
