//! A real headless Chromium (Debian's `chromium` and `chromium-driver`) driven over
//! WebDriver with `fantoccini`, against the reference server running in this process on
//! port 0 over a SQLite file in a temporary folder.
//!
//! - ChromeDriver is started per test on a free port; the test waits for its "started
//!   successfully" line, not for a fixed time.
//! - Each browser session gets a new empty profile, and the flags that keep Chromium off the
//!   network (this machine has none), as `/work/.library/env` describes.
//! - [`Browser::axe`] injects axe-core (from `tests/axe/node_modules`, installed by
//!   `.ci/run` with `npm ci`) into the page and returns the serious and critical violations.
//! - [`Browser::screenshot`] saves a PNG under `test-artifacts/screenshots/`.
//! - Waiting is always for a condition in the page (polled by WebDriver), with a generous
//!   limit that only a broken page reaches.
//!
//! Without Chromium, ChromeDriver or axe-core the tests print "browser tests NOT RUN" and
//! pass, except under `CI`, where a missing tool fails them.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use clbchat_assembly::settings::Settings;
use clbchat_assembly::App;
use clbchat_core::account::{Account, StaffIdentity, StaffRole};
use clbchat_core::auth::hash_password;
use clbchat_core::event::Discipline;
use clbchat_core::ids::{DeskId, StaffId};
use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};

pub const PASSWORD: &str = "correct horse battery";
pub const DESK: &str = "clbchat";
/// Longest wait for something to appear in a page.
pub const PATIENCE: Duration = Duration::from_secs(20);

fn chromium() -> PathBuf {
    std::env::var_os("CLBCHAT_TEST_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| "/usr/bin/chromium".into())
}

fn chromedriver() -> PathBuf {
    std::env::var_os("CLBCHAT_TEST_CHROMEDRIVER")
        .map(PathBuf::from)
        .unwrap_or_else(|| "/usr/bin/chromedriver".into())
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate sits in the workspace")
        .to_path_buf()
}

fn axe_path() -> PathBuf {
    workspace().join("tests/axe/node_modules/axe-core/axe.min.js")
}

/// Whether the tools are here; outside CI a missing tool skips the test loudly.
pub fn tools_present(test: &str) -> bool {
    let missing: Vec<String> = [chromium(), chromedriver(), axe_path()]
        .into_iter()
        .filter(|p| !p.exists())
        .map(|p| p.display().to_string())
        .collect();
    if missing.is_empty() {
        return true;
    }
    let msg = format!(
        "browser tests NOT RUN ({test}): missing {}. Install Debian's chromium and \
         chromium-driver, and run `npm ci --prefix tests/axe`; `.ci/run` does both.",
        missing.join(", ")
    );
    if std::env::var_os("CI").is_some() {
        panic!("{msg}");
    }
    eprintln!("{msg}");
    false
}

/// A ChromeDriver process for one test.
pub struct Driver {
    child: tokio::process::Child,
    pub url: String,
    _profiles: tempfile::TempDir,
    profiles: PathBuf,
}

impl Driver {
    pub async fn start() -> Driver {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let mut child = tokio::process::Command::new(chromedriver())
            .arg(format!("--port={port}"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("chromedriver starts");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let ready = tokio::time::timeout(PATIENCE, async {
            while let Ok(Some(line)) = lines.next_line().await {
                if line.contains("started successfully") {
                    return true;
                }
            }
            false
        })
        .await;
        assert_eq!(ready, Ok(true), "chromedriver did not start");
        // Keep draining its output so it never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let profiles = tempfile::tempdir().unwrap();
        Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
            profiles: profiles.path().to_path_buf(),
            _profiles: profiles,
        }
    }

    /// A new browser session (its own empty profile) with a window of `width` x `height`.
    pub async fn browser(&self, name: &str, width: u32, height: u32) -> Browser {
        let profile = self.profiles.join(name);
        std::fs::create_dir_all(&profile).unwrap();
        let caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium(),
                "args": [
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--disable-quic",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--disable-features=Translate,MediaRouter,OptimizationHints",
                    format!("--window-size={width},{height}"),
                    format!("--user-data-dir={}", profile.display()),
                    "--lang=nl-BE",
                ],
            }
        });
        let caps = match caps {
            Value::Object(m) => m,
            _ => unreachable!(),
        };
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(&self.url)
            .await
            .expect("a browser session");
        Browser {
            client,
            name: name.to_owned(),
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

/// One browser session.
pub struct Browser {
    pub client: Client,
    name: String,
}

fn by_id(testid: &str) -> String {
    format!("[data-testid=\"{testid}\"]")
}

impl Browser {
    pub async fn open(&self, url: &str) {
        self.client.goto(url).await.expect("page loads");
    }

    /// The element with `data-testid`, once it is displayed.
    pub async fn shown(&self, testid: &str) -> Element {
        let css = by_id(testid);
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            if let Ok(e) = self.client.find(Locator::Css(&css)).await {
                if e.is_displayed().await.unwrap_or(false) {
                    return e;
                }
            }
            if tokio::time::Instant::now() > deadline {
                let text = self.text_of_body().await;
                panic!(
                    "[{}] `{testid}` never showed; the page says:\n{text}",
                    self.name
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until the element's text contains `want`.
    pub async fn text_contains(&self, testid: &str, want: &str) -> String {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let e = self.shown(testid).await;
            let text = e.text().await.unwrap_or_default();
            if text.contains(want) {
                return text;
            }
            if tokio::time::Instant::now() > deadline {
                panic!(
                    "[{}] `{testid}` never said `{want}`; it says:\n{text}",
                    self.name
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Chooses the option with `value` in the `<select>` with `data-testid`.
    pub async fn select(&self, testid: &str, value: &str) {
        self.shown(testid)
            .await
            .select_by_value(value)
            .await
            .unwrap_or_else(|e| {
                panic!("[{}] cannot choose `{value}` in `{testid}`: {e}", self.name)
            });
    }

    /// Clicks the element, scrolled to the middle of the window first (as a user would
    /// scroll it into sight; at the top the sticky header would cover it).
    pub async fn click(&self, testid: &str) {
        let e = self.shown(testid).await;
        let arg = serde_json::to_value(&e).expect("an element reference");
        let _ = self
            .client
            .execute("arguments[0].scrollIntoView({block: 'center'});", vec![arg])
            .await;
        e.click()
            .await
            .unwrap_or_else(|e| panic!("[{}] cannot click `{testid}`: {e}", self.name));
    }

    /// Clicks the label of the input with `data-testid` (what a user clicks when the input
    /// itself is drawn by its label, as the rating stars are).
    pub async fn choose(&self, testid: &str) {
        let css = by_id(testid);
        let input = self
            .client
            .wait()
            .at_most(PATIENCE)
            .for_element(Locator::Css(&css))
            .await
            .unwrap_or_else(|e| panic!("[{}] no `{testid}`: {e}", self.name));
        let id = input
            .attr("id")
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("`{testid}` has no id for a label"));
        let label = format!("label[for=\"{id}\"]");
        self.client
            .find(Locator::Css(&label))
            .await
            .unwrap_or_else(|e| panic!("[{}] `{testid}` has no label: {e}", self.name))
            .click()
            .await
            .unwrap();
        assert!(
            input.prop("checked").await.unwrap().as_deref() == Some("true"),
            "[{}] clicking the label of `{testid}` selects it",
            self.name
        );
    }

    /// Clicks each element found by these CSS selectors, in order (checkboxes and options
    /// that have no test id of their own).
    pub async fn click_css(&self, selectors: &[&str]) {
        for css in selectors {
            self.client
                .find(Locator::Css(css))
                .await
                .unwrap_or_else(|e| panic!("[{}] {css}: {e}", self.name))
                .click()
                .await
                .unwrap();
        }
    }

    pub async fn type_into(&self, testid: &str, text: &str) {
        let e = self.shown(testid).await;
        e.clear().await.ok();
        e.send_keys(text).await.unwrap();
    }

    pub async fn text_of_body(&self) -> String {
        match self.client.find(Locator::Css("body")).await {
            Ok(b) => b.text().await.unwrap_or_default(),
            Err(e) => format!("(no body: {e})"),
        }
    }

    /// Runs a script and returns its value.
    /// Logs in on a staff page (`/counsellor`, `/coordinator`) of `server`.
    pub async fn log_in(&self, server: &Server, path: &str, user: &str) {
        self.open(&server.url(path)).await;
        self.shown("username").await;
        self.type_into("username", user).await;
        self.type_into("password", PASSWORD).await;
        self.click("login").await;
    }

    /// Writes a chat message and sends it.
    pub async fn say(&self, text: &str) {
        self.type_into("message-input", text).await;
        self.click("send").await;
    }

    pub async fn js(&self, script: &str) -> Value {
        self.client
            .execute(script, vec![])
            .await
            .unwrap_or_else(|e| panic!("[{}] script failed: {e}\n{script}", self.name))
    }

    /// Runs `script` until it returns something other than `null`, `false` or `""` (the
    /// page has caught up), and returns that; `what` names it when it never does.
    pub async fn until_js(&self, script: &str, what: &str) -> Value {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let v = self.js(script).await;
            if !(v.is_null() || v == Value::Bool(false) || v == Value::String(String::new())) {
                return v;
            }
            if tokio::time::Instant::now() > deadline {
                let text = self.text_of_body().await;
                panic!("[{}] never {what}; the page says:\n{text}", self.name);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Clicks `testid`, which makes a file for the browser to download, and returns the
    /// file's text (read from the page's blob, so no download folder is needed).
    pub async fn download_text(&self, testid: &str) -> String {
        self.js(
            "window.__download = null;
             const make = URL.createObjectURL;
             URL.createObjectURL = (b) => { b.text().then((t) => { window.__download = t; }); return make(b); };
             return true;",
        )
        .await;
        self.click(testid).await;
        let text = self
            .until_js("return window.__download", "made the file to download")
            .await;
        text.as_str().unwrap_or_default().to_owned()
    }

    /// Serious and critical axe-core violations on the page as it is now, as readable lines.
    pub async fn axe(&self) -> Vec<String> {
        let source = std::fs::read_to_string(axe_path()).expect("axe-core is installed");
        self.client
            .execute(&source, vec![])
            .await
            .expect("axe-core loads into the page");
        let result = self
            .client
            .execute_async(
                r#"const done = arguments[arguments.length - 1];
                   axe.run(document, { resultTypes: ['violations'] })
                      .then(r => done(r.violations.map(v => ({
                          id: v.id, impact: v.impact, help: v.help,
                          nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5) }))))
                      .catch(e => done([{ id: 'axe-error', impact: 'critical', help: String(e), nodes: [] }]));"#,
                vec![],
            )
            .await
            .expect("axe runs");
        result
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|v| matches!(v["impact"].as_str(), Some("serious" | "critical")))
            .map(|v| {
                format!(
                    "{} ({}): {} at {}",
                    v["id"], v["impact"], v["help"], v["nodes"]
                )
            })
            .collect()
    }

    /// Asserts no serious or critical accessibility violation on the page as it is now.
    pub async fn assert_accessible(&self, what: &str) {
        let violations = self.axe().await;
        assert!(
            violations.is_empty(),
            "[{}] {what}: accessibility violations:\n{}",
            self.name,
            violations.join("\n")
        );
    }

    /// Saves a screenshot as `test-artifacts/screenshots/<name>.png`.
    pub async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.expect("a screenshot");
        let dir = workspace().join("test-artifacts/screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }

    pub async fn close(self) {
        let _ = self.client.close().await;
    }
}

/// The reference server, in this process, on port 0, over its own data folder.
pub struct Server {
    running: clbchat_assembly::app::Running,
    settings: Settings,
    service: &'static clbchat_assembly::service::Service,
    dir: tempfile::TempDir,
}

impl std::ops::Deref for Server {
    type Target = clbchat_assembly::app::Running;
    fn deref(&self) -> &Self::Target {
        &self.running
    }
}

impl Server {
    /// The national desk's server (clbchat).
    pub async fn start(tune: impl FnOnce(&mut Settings, &Path)) -> Server {
        Self::start_service(&clbchat::SERVICE, tune).await
    }

    /// A service's server on its defaults, on port 0 with its data in a fresh folder.
    pub async fn start_service(
        service: &'static clbchat_assembly::service::Service,
        tune: impl FnOnce(&mut Settings, &Path),
    ) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let mut s = (service.defaults.settings)();
        s.server.listen = "127.0.0.1:0".parse().unwrap();
        s.storage.url = format!("sqlite://{}", dir.path().join("clbchat.db").display());
        s.pseudonyms.key_file = dir.path().join("keys.toml");
        tune(&mut s, dir.path());
        let running = App::start_with(s.clone(), service.parts(&s).expect("desk"))
            .await
            .expect("the server starts")
            .spawn();
        Server {
            running,
            settings: s,
            service,
            dir,
        }
    }

    /// A page of the server, by the address its origin allow-list expects.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.addr.port())
    }

    pub async fn account(&self, id: &str, role: StaffRole, discipline: Discipline) {
        self.account_of(id, role, discipline, None).await;
    }

    /// An account on this server's desk, of `centre`.
    pub async fn account_of(
        &self,
        id: &str,
        role: StaffRole,
        discipline: Discipline,
        centre: Option<&str>,
    ) {
        self.shared
            .store
            .put_account(&Account {
                username: id.into(),
                password_hash: hash_password(PASSWORD).unwrap(),
                active: true,
                identity: StaffIdentity {
                    id: StaffId::new(id),
                    alias: format!("{}{}", id[..1].to_uppercase(), &id[1..]),
                    role,
                    discipline,
                    desks: vec![DeskId::new(self.settings.desk.id.clone())],
                    capacity: 2,
                    centre: centre.map(clbchat_core::ids::CentreId::new),
                },
            })
            .await
            .unwrap();
    }

    /// An account on the given desks (a centre's box: the centre's id), of no centre.
    pub async fn account_on(&self, id: &str, role: StaffRole, desks: &[&str]) {
        self.account_in(id, role, desks, None).await;
    }

    /// An account on the given desks, of `centre` (needed to plan blended chats).
    pub async fn account_in(
        &self,
        id: &str,
        role: StaffRole,
        desks: &[&str],
        centre: Option<&str>,
    ) {
        self.shared
            .store
            .put_account(&Account {
                username: id.into(),
                password_hash: hash_password(PASSWORD).unwrap(),
                active: true,
                identity: StaffIdentity {
                    id: StaffId::new(id),
                    alias: format!("{}{}", id[..1].to_uppercase(), &id[1..]),
                    role,
                    discipline: Discipline::PsychoPedagogical,
                    desks: desks.iter().map(|d| DeskId::new(*d)).collect(),
                    capacity: 2,
                    centre: centre.map(clbchat_core::ids::CentreId::new),
                },
            })
            .await
            .unwrap();
    }

    /// Stops gracefully (clients are told the server restarts) and starts again on the same
    /// port and the same data, as an upgrade would.
    pub async fn restart(self) -> Server {
        let mut settings = self.settings.clone();
        settings.server.listen = self.running.addr;
        self.running.stop().await;
        let running = App::start_with(
            settings.clone(),
            self.service.parts(&settings).expect("desk"),
        )
        .await
        .expect("the server starts again")
        .spawn();
        Server {
            running,
            settings,
            service: self.service,
            dir: self.dir,
        }
    }

    pub async fn stop(self) {
        self.running.stop().await;
    }
}

/// A staff member logged in through the engine (no browser needed for this side).
pub async fn staff(server: &Server, id: &str) -> clbchat_core::engine::StaffSession {
    server
        .shared
        .engine
        .login(&clbchat_core::auth::Credential::Password {
            username: id.into(),
            password: PASSWORD.into(),
        })
        .await
        .expect("login")
}

/// Waits for the next chat given to `s`.
pub async fn next_chat(
    s: &mut clbchat_core::engine::StaffSession,
) -> clbchat_core::ids::ConversationId {
    tokio::time::timeout(PATIENCE, async {
        loop {
            match s.events.next().await {
                Some(clbchat_core::event::ServerEvent::ChatAssigned { conversation, .. }) => {
                    return conversation
                }
                Some(_) => {}
                None => panic!("the staff session ended"),
            }
        }
    })
    .await
    .expect("a chat was assigned")
}

/// The reference server with Kris, a coordinator, and Sara, a counsellor, whom the engine
/// logs in and puts online at the desk (her chats are played without a browser).
pub async fn kris_and_sara() -> (Server, clbchat_core::engine::StaffSession) {
    let server = Server::start(|_, _| {}).await;
    server
        .account(
            "kris",
            clbchat_core::account::StaffRole::Coordinator,
            clbchat_core::event::Discipline::PsychoPedagogical,
        )
        .await;
    server
        .account(
            "sara",
            clbchat_core::account::StaffRole::Counsellor,
            clbchat_core::event::Discipline::SocialWork,
        )
        .await;
    let sara = staff(&server, "sara").await;
    sara.handle
        .go_online(&clbchat_core::ids::DeskId::new(DESK), None)
        .await
        .expect("Sara goes online");
    (server, sara)
}
