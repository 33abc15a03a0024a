//! `clbchat`: the national anonymous desk (CLBch@t). See `clbchat --help`.

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
    clbchat_server::init_logging(&settings.log);
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
            println!("the database at {} is up to date", settings.storage.url);
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
        Command::Config(ConfigCommand::Show) => {
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
    if let Some(link) = app.setup_link() {
        // The link holds a secret: console only, never the log.
        println!();
        println!("No coordinator account exists yet. Open this one-time link to create one:");
        println!("    {link}");
        println!();
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
