//! `clbchat`: the national anonymous desk (CLBch@t). See `clbchat --help`.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use clbchat_server::cli::{Cli, Command, ConfigCommand, KeysCommand};
use clbchat_server::{App, Error, Settings};

/// Exit code for a configuration problem (as sysexits' EX_CONFIG).
const EXIT_CONFIG: u8 = 78;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::load(cli.config.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("clbchat: {e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    if let Some(Command::DemoData(_)) = &cli.command {
        // A year of chats would log every arrival: only the monthly progress and problems.
        let mut log = settings.log.clone();
        if log.level == "info" {
            log.level = "warn,clbchat_server::demo_data=info".into();
        }
        clbchat_server::init_logging(&log);
    } else {
        clbchat_server::init_logging(&settings.log);
    }
    if let Some(Command::DemoData(args)) = &cli.command {
        // On a paused clock of its own (see clbchat_server::demo_data).
        return match clbchat_server::cli::demo_data(&settings, args) {
            Ok(out) => {
                print!("{out}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("clbchat: {e}");
                ExitCode::from(if matches!(e, Error::Config(_)) {
                    EXIT_CONFIG
                } else {
                    1
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
            eprintln!("clbchat: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command.unwrap_or(Command::Serve), settings)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e @ Error::Config(_)) => {
            eprintln!("clbchat: {e}");
            ExitCode::from(EXIT_CONFIG)
        }
        Err(e) => {
            eprintln!("clbchat: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, settings: Settings) -> clbchat_server::Result<()> {
    match command {
        Command::Serve => serve(settings).await,
        Command::Migrate => {
            let store = clbchat_server::app::open_store(&settings).await?;
            store.close().await;
            println!(
                "the database at {} is up to date",
                clbchat_server::settings::redact_url(&settings.storage.url)
            );
            Ok(())
        }
        Command::Accounts(cmd) => {
            print!("{}", clbchat_server::cli::accounts(&settings, cmd).await?);
            Ok(())
        }
        Command::Keys(KeysCommand::Rotate) => {
            let id = clbchat_server::keys::rotate(&settings.pseudonyms.key_file)?;
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
            let text = clbchat_server::cli::report(&settings, &args).await?;
            match &args.output {
                Some(path) => {
                    std::fs::write(path, text).map_err(|e| Error::io(path, e))?;
                    eprintln!("clbchat: the report is in {}", path.display());
                }
                None => print!("{text}"),
            }
            Ok(())
        }
        Command::DemoData(_) => Err(Error::Refused(
            "demo-data runs on a runtime of its own".into(),
        )),
        Command::Config(ConfigCommand::Show) => {
            let mut settings = settings;
            settings.storage.url = clbchat_server::settings::redact_url(&settings.storage.url);
            let text = toml::to_string_pretty(&settings)
                .map_err(|e| Error::Refused(format!("cannot print the settings: {e}")))?;
            print!("{text}");
            Ok(())
        }
    }
}

async fn serve(settings: Settings) -> clbchat_server::Result<()> {
    let app = App::start(settings).await?;
    let addr = app.local_addr();
    // The address goes to stdout for people (and for tests that start on port 0).
    println!(
        "clbchat listens on http://{addr}/  (counsellors: /counsellor, coordinators: /coordinator)"
    );
    // The link holds a secret: at a terminal it is printed; otherwise (a service manager
    // or container collecting stdout with the logs) it goes to a file only its owner reads.
    let link_file = clbchat_server::files::setup_link_path(&app.shared().settings);
    match app.setup_link() {
        Some(link) if std::io::stdout().is_terminal() => {
            println!();
            println!("No coordinator account exists yet. Open this one-time link to create one:");
            println!("    {link}");
            println!();
        }
        Some(link) => {
            clbchat_server::files::write_secret_file(&link_file, link)?;
            println!(
                "No coordinator account exists yet. A one-time link to create one is in {} \
                 (readable by this user only).",
                link_file.display()
            );
        }
        None => clbchat_server::files::remove_setup_link(&app.shared().settings),
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
