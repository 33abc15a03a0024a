//! The command line, with `clap` (derive): help texts written for a deployer, subcommands
//! for the jobs besides serving.

use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use clbchat_core::auth::{hash_password, Account, StaffIdentity, StaffRole, DEFAULT_CAPACITY};
use clbchat_core::event::Discipline;
use clbchat_core::ids::{DeskId, StaffId};
use clbchat_core::store::Store;

use crate::error::{Error, Result};
use crate::settings::Settings;

/// clbchat: the anonymous chat desk of the CLBs (CLBch@t).
///
/// Without a command it serves: the visitor page at http://127.0.0.1:8080/, the counsellor
/// page at /counsellor, the coordinator page at /coordinator. With no configuration it keeps
/// its data in ./data (SQLite) and prints a one-time link to create the first coordinator.
#[derive(Debug, Parser)]
#[command(name = "clbchat", version, about, long_about)]
pub struct Cli {
    /// The configuration file (default: ./clbchat.toml when it exists). Every setting is
    /// listed, with its default, in examples/config/clbchat.toml; CLBCHAT_SECTION__KEY
    /// environment variables override the file (e.g. CLBCHAT_SERVER__LISTEN=0.0.0.0:8080).
    #[arg(long, short, env = "CLBCHAT_CONFIG", global = true)]
    pub config: Option<PathBuf>,

    /// What to do (default: serve).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the desk (the default).
    Serve,
    /// Create or update the database schema, then exit (serve does this too).
    Migrate,
    /// Manage staff accounts.
    #[command(subcommand)]
    Accounts(AccountsCommand),
    /// Manage the pseudonym keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Check the configuration, or print the settings in force.
    #[command(subcommand)]
    Config(ConfigCommand),
}

/// `accounts …`.
#[derive(Debug, Subcommand)]
pub enum AccountsCommand {
    /// List the accounts.
    List,
    /// Add an account; the password is asked for (or read from stdin when piped).
    Add(AddAccount),
    /// Set a new password; it is asked for (or read from stdin when piped).
    SetPassword {
        /// The user name.
        username: String,
    },
    /// Stop an account from logging in.
    Deactivate {
        /// The user name.
        username: String,
    },
    /// Let a deactivated account log in again.
    Activate {
        /// The user name.
        username: String,
    },
}

/// `accounts add`.
#[derive(Debug, Args)]
pub struct AddAccount {
    /// Login name.
    pub username: String,
    /// The name clients see (counsellors stay anonymous: a first name or a chat name).
    #[arg(long)]
    pub alias: String,
    /// Role.
    #[arg(long, value_enum, default_value_t = RoleArg::Counsellor)]
    pub role: RoleArg,
    /// Discipline: health questions go to a medical counsellor first.
    #[arg(long, value_enum, default_value_t = DisciplineArg::PsychoPedagogical)]
    pub discipline: DisciplineArg,
    /// Chats at the same time.
    #[arg(long, default_value_t = DEFAULT_CAPACITY)]
    pub capacity: u32,
    /// Desks (default: this server's desk). Repeat for more.
    #[arg(long = "desk")]
    pub desks: Vec<String>,
}

/// A role on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RoleArg {
    /// Answers chats.
    Counsellor,
    /// Watches the desk, helps, manages accounts and the calendar.
    Coordinator,
}

/// A discipline on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum DisciplineArg {
    /// Doctor or nurse.
    Medical,
    /// Paramedical.
    Paramedical,
    /// Social work.
    SocialWork,
    /// Psycho-pedagogical.
    PsychoPedagogical,
}

/// `keys …`.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Put a new pseudonym key in front; old keys keep recognising returning visitors.
    Rotate,
}

/// `config …`.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Load the configuration and the calendar, report the first problem, or say OK.
    Check,
    /// Print the settings in force (file, environment and defaults merged) as TOML.
    Show,
}

fn discipline(d: DisciplineArg) -> Discipline {
    match d {
        DisciplineArg::Medical => Discipline::Medical,
        DisciplineArg::Paramedical => Discipline::Paramedical,
        DisciplineArg::SocialWork => Discipline::SocialWork,
        DisciplineArg::PsychoPedagogical => Discipline::PsychoPedagogical,
    }
}

/// Reads a password: hidden at a terminal (twice, to catch typos), one line from a pipe.
fn read_password() -> Result<String> {
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password (at least 10 characters): ")
            .map_err(|e| Error::io("stdin", e))?;
        let again =
            rpassword::prompt_password("Password again: ").map_err(|e| Error::io("stdin", e))?;
        if first != again {
            return Err(Error::Refused(
                "the two passwords differ; nothing changed".into(),
            ));
        }
        Ok(first)
    } else {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| Error::io("stdin", e))?;
        Ok(line.trim_end_matches(['\r', '\n']).to_owned())
    }
}

/// Runs an `accounts` command against the configured store; returns what to print.
pub async fn accounts(settings: &Settings, cmd: AccountsCommand) -> Result<String> {
    let store = crate::app::open_store(settings).await?;
    let out = accounts_on(&store, settings, cmd).await;
    store.close().await;
    out
}

async fn accounts_on(
    store: &dyn Store,
    settings: &Settings,
    cmd: AccountsCommand,
) -> Result<String> {
    let existing = |username: String| async move {
        store
            .account(&username)
            .await?
            .ok_or_else(|| Error::Refused(format!("there is no account `{username}`")))
    };
    match cmd {
        AccountsCommand::List => {
            let mut accounts = store.accounts().await?;
            accounts.sort_by(|a, b| a.username.cmp(&b.username));
            let mut out = format!(
                "{:<20} {:<20} {:<12} {:<19} {:>8}  {:<8} desks\n",
                "username", "alias", "role", "discipline", "capacity", "active"
            );
            for a in accounts {
                let i = &a.identity;
                let role = serde_json::to_value(i.role).unwrap_or_default();
                let disc = serde_json::to_value(i.discipline).unwrap_or_default();
                out.push_str(&format!(
                    "{:<20} {:<20} {:<12} {:<19} {:>8}  {:<8} {}\n",
                    a.username,
                    i.alias,
                    role.as_str().unwrap_or("?"),
                    disc.as_str().unwrap_or("?"),
                    i.capacity,
                    if a.active { "yes" } else { "no" },
                    i.desks
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(",")
                ));
            }
            Ok(out)
        }
        AccountsCommand::Add(add) => {
            if store.account(&add.username).await?.is_some() {
                return Err(Error::Refused(format!(
                    "account `{}` exists already (use set-password or activate)",
                    add.username
                )));
            }
            if add.capacity == 0 {
                return Err(Error::Refused("--capacity: at least 1".into()));
            }
            let password = read_password()?;
            let desks = if add.desks.is_empty() {
                vec![DeskId::new(settings.desk.id.clone())]
            } else {
                add.desks.into_iter().map(DeskId::new).collect()
            };
            let account = Account {
                username: add.username.clone(),
                password_hash: hash_password(&password)?,
                active: true,
                identity: StaffIdentity {
                    id: StaffId::new(add.username.clone()),
                    alias: add.alias,
                    role: match add.role {
                        RoleArg::Counsellor => StaffRole::Counsellor,
                        RoleArg::Coordinator => StaffRole::Coordinator,
                    },
                    discipline: discipline(add.discipline),
                    desks,
                    capacity: add.capacity,
                },
            };
            store.put_account(&account).await?;
            Ok(format!("added account `{}`\n", add.username))
        }
        AccountsCommand::SetPassword { username } => {
            let mut a = existing(username.clone()).await?;
            a.password_hash = hash_password(&read_password()?)?;
            store.put_account(&a).await?;
            Ok(format!("new password set for `{username}`\n"))
        }
        AccountsCommand::Deactivate { username } => {
            let mut a = existing(username.clone()).await?;
            a.active = false;
            store.put_account(&a).await?;
            Ok(format!("`{username}` can no longer log in\n"))
        }
        AccountsCommand::Activate { username } => {
            let mut a = existing(username.clone()).await?;
            a.active = true;
            store.put_account(&a).await?;
            Ok(format!("`{username}` can log in again\n"))
        }
    }
}
