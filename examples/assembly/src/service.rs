//! A service's binary, whole: each service (`clbchat`, and the ones to come) is a
//! [`Service`] (its name, its pages, its desk) and a `main` that calls [`main`]. The command
//! line, the settings, logging, the one-time setup link, serving and the graceful stop are
//! here, once, so the services cannot drift apart.

use std::io::IsTerminal;
use std::process::ExitCode;

use crate::app::Desks;
use clap::{CommandFactory, FromArgMatches};

use crate::app::{App, Parts};
use crate::cli::{Cli, Command, ConfigCommand, KeysCommand};
use crate::error::{Error, Result};
use crate::http::Pages;
use crate::settings::{Defaults, Settings};

/// Exit code for a configuration problem (as sysexits' EX_CONFIG).
pub const EXIT_CONFIG: u8 = 78;

/// What one service adds to the assembly.
#[derive(Debug, Clone, Copy)]
pub struct Service {
    /// The binary's name, as messages and `--help` say it.
    pub name: &'static str,
    /// One line for `--help`.
    pub about: &'static str,
    /// What `--help` says about it beyond that line.
    pub long_about: &'static str,
    /// Said after the address when it starts, e.g. where the staff pages are.
    pub greeting: &'static str,
    /// Its pages and their assets.
    pub pages: Pages,
    /// Its desks, from the settings.
    pub desks: fn(&Settings) -> Result<Desks>,
    /// Where its settings start (its desk, database file and port by default).
    pub defaults: Defaults,
}

impl Service {
    /// The parts [`App::start_with`] needs for this service (its desk and pages); a test
    /// or an embedding program adds its own to them.
    pub fn parts(&self, settings: &Settings) -> Result<Parts> {
        Ok(Parts {
            desks: (self.desks)(settings)?,
            pages: Some(self.pages),
            ..Parts::default()
        })
    }
}

/// The whole binary: parses the command line, loads the settings, and serves or runs the
/// command asked for. The exit code says how it went (78 for a configuration problem).
pub fn main(service: &Service) -> ExitCode {
    let name = service.name;
    let command = Cli::command()
        .name(name)
        .bin_name(name)
        .about(service.about)
        .long_about(service.long_about);
    let cli = match Cli::from_arg_matches(&command.get_matches()) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let settings = match Settings::load_for(cli.config.as_deref(), &service.defaults) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{name}: {e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    if let Some(Command::Simulate(_)) = &cli.command {
        // A play logs every simulated arrival: only problems.
        let mut log = settings.log.clone();
        if log.level == "info" {
            log.level = "warn".into();
        }
        crate::init_logging(&log);
    } else if let Some(Command::DemoData(_)) = &cli.command {
        // A year of chats would log every arrival: only the monthly progress and problems.
        let mut log = settings.log.clone();
        if log.level == "info" {
            log.level = "warn,clbchat_assembly::demo_data=info".into();
        }
        crate::init_logging(&log);
    } else {
        crate::init_logging(&settings.log);
    }
    if let Some(Command::DemoData(args)) = &cli.command {
        // On a paused clock of its own (see clbchat_assembly::demo_data).
        return match crate::cli::demo_data(&settings, args) {
            Ok(out) => {
                print!("{out}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("{name}: {e}");
                ExitCode::from(if matches!(e, Error::Config(_)) {
                    EXIT_CONFIG
                } else {
                    1
                })
            }
        };
    }
    if let Some(Command::Simulate(args)) = &cli.command {
        // On a paused clock of its own (see clbchat_assembly::simulate).
        return match crate::cli::simulate(&settings, args) {
            Ok((out, met)) => {
                print!("{out}");
                if met {
                    ExitCode::SUCCESS
                } else {
                    eprintln!(
                        "{name}: the target is not met in every hour; the best found is written"
                    );
                    ExitCode::from(2)
                }
            }
            Err(e) => {
                eprintln!("{name}: {e}");
                // Bad input (the files, what is in them) is a configuration problem.
                ExitCode::from(match e {
                    Error::Scenario(_) | Error::Io { .. } | Error::Config(_) => EXIT_CONFIG,
                    _ => 1,
                })
            }
        };
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{name}: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(
        service,
        cli.command.unwrap_or(Command::Serve),
        settings,
    )) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e @ Error::Config(_)) => {
            eprintln!("{name}: {e}");
            ExitCode::from(EXIT_CONFIG)
        }
        Err(e) => {
            eprintln!("{name}: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(service: &Service, command: Command, settings: Settings) -> Result<()> {
    match command {
        Command::Serve => serve(service, settings).await,
        Command::Migrate => {
            let store = crate::app::open_store(&settings).await?;
            store.close().await;
            println!(
                "the database at {} is up to date",
                crate::settings::redact_url(&settings.storage.url)
            );
            Ok(())
        }
        Command::Accounts(cmd) => {
            let centres = matches!((service.desks)(&settings)?, crate::app::Desks::Centres);
            print!("{}", crate::cli::accounts(&settings, cmd, centres).await?);
            Ok(())
        }
        Command::Centres(cmd) => {
            print!("{}", crate::cli::centres(&settings, cmd).await?);
            Ok(())
        }
        Command::Keys(KeysCommand::Rotate) => {
            let id = crate::keys::rotate(&settings.pseudonyms.key_file)?;
            println!(
                "new pseudonym key `{id}` in {}; restart the server to use it",
                settings.pseudonyms.key_file.display()
            );
            Ok(())
        }
        Command::Config(ConfigCommand::Check) => {
            settings.calendar()?;
            println!("the configuration is valid");
            Ok(())
        }
        Command::Report(args) => {
            let text = crate::cli::report(&settings, &args).await?;
            match &args.output {
                Some(path) => {
                    std::fs::write(path, text).map_err(|e| Error::io(path, e))?;
                    eprintln!("{}: the report is in {}", service.name, path.display());
                }
                None => print!("{text}"),
            }
            Ok(())
        }
        Command::DemoData(_) | Command::Simulate(_) => Err(Error::Refused(
            "this command runs on a runtime of its own".into(),
        )),
        Command::Config(ConfigCommand::Show) => {
            let mut settings = settings;
            settings.storage.url = crate::settings::redact_url(&settings.storage.url);
            let text = toml::to_string_pretty(&settings)
                .map_err(|e| Error::Refused(format!("cannot print the settings: {e}")))?;
            print!("{text}");
            Ok(())
        }
    }
}

async fn serve(service: &Service, settings: Settings) -> Result<()> {
    let parts = service.parts(&settings)?;
    let app = App::start_with(settings, parts).await?;
    let addr = app.local_addr();
    // The address goes to stdout for people (and for tests that start on port 0).
    println!(
        "{} listens on http://{addr}/  {}",
        service.name, service.greeting
    );
    // The link holds a secret: at a terminal it is printed; otherwise (a service manager
    // or container collecting stdout with the logs) it goes to a file only its owner reads.
    let link_file = crate::files::setup_link_path(&app.shared().settings);
    // A server of centres only is managed by the sector's administrator.
    let first = if app.shared().desk.is_some() {
        "coordinator"
    } else {
        "administrator"
    };
    match app.setup_link() {
        Some(link) if std::io::stdout().is_terminal() => {
            println!();
            println!("No {first} account exists yet. Open this one-time link to create one:");
            println!("    {link}");
            println!();
        }
        Some(link) => {
            crate::files::write_secret_file(&link_file, link)?;
            println!(
                "No {first} account exists yet. A one-time link to create one is in {} \
                 (readable by this user only).",
                link_file.display()
            );
        }
        None => crate::files::remove_setup_link(&app.shared().settings),
    }
    app.run(stop_signal()).await;
    Ok(())
}

/// SIGTERM (service managers, containers) or Ctrl-C.
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
