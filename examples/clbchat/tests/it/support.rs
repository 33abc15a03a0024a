//! Servers for the tests: in process ([`InProcess`], an [`App`] on port 0 over a SQLite file
//! in a temporary folder) or as the real binary ([`Binary`], for signals, exit codes and
//! what it prints). Both learn their address from the server itself, never by guessing.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use clbchat_assembly::settings::Settings;
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

/// The real `clbchat` binary, started in `dir` with extra environment variables.
pub struct Binary {
    pub child: Child,
    pub addr: SocketAddr,
    /// Everything the server printed on stdout up to the address line and after.
    pub stdout: Arc<Mutex<Vec<String>>>,
    /// Everything it logged on stderr.
    pub stderr: Arc<Mutex<Vec<String>>>,
    stdout_done: Option<std::thread::JoinHandle<()>>,
    stderr_done: Option<std::thread::JoinHandle<()>>,
}

pub fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_clbchat"))
}

/// The binary run to completion with `args`, in `dir`, with `env`; (exit code, stdout,
/// stderr).
pub fn run_binary(
    dir: &Path,
    args: &[&str],
    env: &[(&str, &str)],
    stdin: &str,
) -> (i32, String, String) {
    use std::io::Write;
    let mut cmd = Command::new(binary());
    cmd.current_dir(dir)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env_remove("RUST_LOG");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("the binary starts");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

impl Binary {
    /// Starts `clbchat serve` in `dir` on port `port` (0: any) and waits for the line that
    /// says where it listens.
    pub fn start(dir: &Path, port: u16, env: &[(&str, &str)]) -> Binary {
        let mut cmd = Command::new(binary());
        cmd.current_dir(dir)
            .arg("serve")
            .env("CLBCHAT_SERVER__LISTEN", format!("127.0.0.1:{port}"))
            .env("CLBCHAT_SERVER__SHUTDOWN_DEADLINE_SECS", "5")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("the binary starts");
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let (addr_tx, addr_rx) = std::sync::mpsc::channel::<Option<SocketAddr>>();
        let out = BufReader::new(child.stdout.take().unwrap());
        let lines = stdout.clone();
        let stdout_done = std::thread::spawn(move || {
            let mut tx = Some(addr_tx);
            for line in out.lines().map_while(Result::ok) {
                if let Some(rest) = line.strip_prefix("clbchat listens on http://") {
                    let addr = rest.split('/').next().and_then(|a| a.parse().ok());
                    if let Some(tx) = tx.take() {
                        let _ = tx.send(addr);
                    }
                }
                lines.lock().unwrap().push(line);
            }
            if let Some(tx) = tx.take() {
                let _ = tx.send(None);
            }
        });
        let err = BufReader::new(child.stderr.take().unwrap());
        let lines = stderr.clone();
        let stderr_done = std::thread::spawn(move || {
            for line in err.lines().map_while(Result::ok) {
                lines.lock().unwrap().push(line);
            }
        });
        let addr = addr_rx
            .recv_timeout(std::time::Duration::from_secs(60))
            .ok()
            .flatten()
            .unwrap_or_else(|| {
                let _ = child.kill();
                panic!(
                    "the server did not say where it listens; stderr:\n{}",
                    stderr.lock().unwrap().join("\n")
                )
            });
        Binary {
            child,
            addr,
            stdout,
            stderr,
            stdout_done: Some(stdout_done),
            stderr_done: Some(stderr_done),
        }
    }

    pub fn ws(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    pub fn origin(&self) -> String {
        format!("http://127.0.0.1:{}", self.addr.port())
    }

    /// Sends SIGTERM and waits for the exit; returns the exit code and how long it took.
    pub fn terminate(&mut self) -> (Option<i32>, std::time::Duration) {
        let t0 = std::time::Instant::now();
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -TERM failed");
        let exit = self.child.wait().expect("the server exits");
        if let Some(t) = self.stdout_done.take() {
            let _ = t.join();
        }
        if let Some(t) = self.stderr_done.take() {
            let _ = t.join();
        }
        (exit.code(), t0.elapsed())
    }

    pub fn logs(&self) -> String {
        self.stderr.lock().unwrap().join("\n")
    }

    pub fn printed(&self) -> String {
        self.stdout.lock().unwrap().join("\n")
    }
}

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
