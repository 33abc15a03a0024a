//! Running a service's real binary in a test: started in a folder with environment
//! settings, its address read from what it prints, stopped with SIGTERM, its output kept.
//! Behind the `testing` feature: the services' end-to-end tests share it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};

/// A service's binary, running (see [`Binary::start`]); killed when dropped.
pub struct Binary {
    /// The process.
    pub child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Everything the server printed on stdout up to the address line and after.
    pub stdout: Arc<Mutex<Vec<String>>>,
    /// Everything it logged on stderr.
    pub stderr: Arc<Mutex<Vec<String>>>,
    /// Told of every line printed.
    printed_cv: Arc<Condvar>,
    /// Told of every line logged.
    logged_cv: Arc<Condvar>,
    stdout_done: Option<std::thread::JoinHandle<()>>,
    stderr_done: Option<std::thread::JoinHandle<()>>,
}

/// A service's binary: where it is (a test has it as `env!("CARGO_BIN_EXE_<name>")`) and
/// its name, as its "listens on" line says it.
#[derive(Debug, Clone)]
pub struct Program {
    /// The executable.
    pub path: PathBuf,
    /// The service's name.
    pub name: &'static str,
}

impl Program {
    /// Runs it to completion with `args`, in `dir`, with `env` and `stdin`; (exit code,
    /// stdout, stderr).
    pub fn run(
        &self,
        dir: &Path,
        args: &[&str],
        env: &[(&str, &str)],
        stdin: &str,
    ) -> (i32, String, String) {
        use std::io::Write;
        let mut cmd = Command::new(&self.path);
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
}

impl Binary {
    /// Starts `program serve` in `dir` on port `port` (0: any) and waits for the line that
    /// says where it listens.
    pub fn start(program: &Program, dir: &Path, port: u16, env: &[(&str, &str)]) -> Binary {
        let listens = format!("{} listens on http://", program.name);
        let mut cmd = Command::new(&program.path);
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
        let printed_cv = Arc::new(Condvar::new());
        let cv = printed_cv.clone();
        let stdout_done = std::thread::spawn(move || {
            let mut tx = Some(addr_tx);
            for line in out.lines().map_while(Result::ok) {
                if let Some(rest) = line.strip_prefix(listens.as_str()) {
                    let addr = rest.split('/').next().and_then(|a| a.parse().ok());
                    if let Some(tx) = tx.take() {
                        let _ = tx.send(addr);
                    }
                }
                lines.lock().unwrap().push(line);
                cv.notify_all();
            }
            if let Some(tx) = tx.take() {
                let _ = tx.send(None);
            }
        });
        let err = BufReader::new(child.stderr.take().unwrap());
        let lines = stderr.clone();
        let logged_cv = Arc::new(Condvar::new());
        let cv = logged_cv.clone();
        let stderr_done = std::thread::spawn(move || {
            for line in err.lines().map_while(Result::ok) {
                lines.lock().unwrap().push(line);
                cv.notify_all();
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
            printed_cv,
            logged_cv,
            stdout_done: Some(stdout_done),
            stderr_done: Some(stderr_done),
        }
    }

    /// The WebSocket's URL.
    pub fn ws(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    /// The origin its pages have.
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

    /// What it logged (stderr).
    pub fn logs(&self) -> String {
        self.stderr.lock().unwrap().join("\n")
    }

    /// Waits (30 s at most) until it printed a line containing `needle`; gives the line.
    pub fn wait_printed(&self, needle: &str) -> String {
        wait_for_line(&self.stdout, &self.printed_cv, needle, "printed")
    }

    /// Waits (30 s at most) until it logged (stderr) a line containing `needle`; gives the
    /// line.
    pub fn wait_logged(&self, needle: &str) -> String {
        wait_for_line(&self.stderr, &self.logged_cv, needle, "logged")
    }

    /// What it printed (stdout).
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

/// Waits (30 s at most) until `lines` holds one containing `needle`, woken by `cv`.
fn wait_for_line(lines: &Mutex<Vec<String>>, cv: &Condvar, needle: &str, what: &str) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let mut lines = lines.lock().unwrap();
    loop {
        if let Some(l) = lines.iter().find(|l| l.contains(needle)) {
            return l.clone();
        }
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        assert!(
            !left.is_zero(),
            "it never {what} `{needle}`; it {what}:\n{}",
            lines.join("\n")
        );
        lines = cv.wait_timeout(lines, left).unwrap().0;
    }
}

/// A staff account for a test, straight into a store: `id` is also its user name and
/// alias, on `desks` (two chats at once; none without a desk), of `centre`.
pub fn staff_account(
    id: &str,
    role: clbchat_core::account::StaffRole,
    desks: &[&str],
    centre: Option<&str>,
    password: &str,
) -> clbchat_core::account::Account {
    use clbchat_core::account::{Account, StaffIdentity};
    use clbchat_core::ids::{CentreId, DeskId, StaffId};
    Account {
        username: id.into(),
        password_hash: clbchat_core::auth::hash_password(password)
            .unwrap_or_else(|e| panic!("hashing a test password: {e}")),
        active: true,
        identity: StaffIdentity {
            id: StaffId::new(id),
            alias: id.into(),
            role,
            discipline: clbchat_core::event::Discipline::PsychoPedagogical,
            desks: desks.iter().map(|d| DeskId::new(*d)).collect(),
            capacity: if desks.is_empty() { 0 } else { 2 },
            centre: centre.map(CentreId::new),
        },
    }
}

/// A desk's history for the staffing simulation's tests: `weeks` Wednesdays at 15:00
/// Brussels time, counting back from last week's (each week's own 15:00: summer time may
/// end in between), each with seven visitors eight minutes apart: six chats of twenty
/// minutes after a minute's wait, and one who left the queue after three.
pub async fn wednesday_history(
    store: &dyn clbchat_core::store::Store,
    desk: &clbchat_core::ids::DeskId,
    weeks: i64,
) {
    use chrono::{Datelike, TimeZone, Utc};
    use clbchat_core::event::{ClientProfile, EndReason};
    use clbchat_core::ids::ConversationId;
    use clbchat_core::store::{ConversationMeta, ConversationState};

    let brussels = chrono_tz::Europe::Brussels;
    let now = Utc::now().with_timezone(&brussels);
    let back = i64::from((now.weekday().num_days_from_monday() + 7 - 2) % 7 + 7);
    for week in 0..weeks {
        let day = (now - chrono::Duration::days(back + 7 * week)).date_naive();
        let hour = brussels
            .from_local_datetime(&day.and_hms_opt(15, 0, 0).unwrap())
            .unwrap()
            .with_timezone(&Utc);
        for i in 0..7i64 {
            let arrived = hour + chrono::Duration::minutes(8 * i);
            let left = i == 6;
            store
                .put_conversation(&ConversationMeta {
                    id: ConversationId::random(),
                    desk: desk.clone(),
                    pseudonym: None,
                    profile: ClientProfile::default(),
                    state: ConversationState::Ended,
                    counsellor: None,
                    arrived_at: arrived,
                    started_at: (!left).then(|| arrived + chrono::Duration::minutes(1)),
                    ended_at: Some(arrived + chrono::Duration::minutes(if left { 3 } else { 21 })),
                    end_reason: Some(if left {
                        EndReason::AbandonedInQueue
                    } else {
                        EndReason::ClientLeft
                    }),
                    resume_token_hash: "h".into(),
                })
                .await
                .unwrap();
        }
    }
}
