//! The command line, with `clap` (derive): help texts written for a deployer, subcommands
//! for the jobs besides serving.

use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use clbchat_core::account::{Account, StaffIdentity, StaffRole, DEFAULT_CAPACITY};
use clbchat_core::auth::hash_password;
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
    /// listed, with its default, in examples/clbchat/config/clbchat.toml; CLBCHAT_SECTION__KEY
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
    /// Chat-met-je-CLB: the centres, each with its own chatbox.
    #[command(subcommand)]
    Centres(CentresCommand),
    /// Manage the pseudonym keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Check the configuration, or print the settings in force.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Write the annual report (this school year by default) as markdown, CSV or HTML.
    ///
    /// Computed from the registrations, ratings and conversation metadata in the database;
    /// never from message text. Example, the 2021-2022 school year as a page with charts:
    /// `clbchat report --school-year 2021 --format html --output report.html`.
    Report(ReportArgs),
    /// Fill a past school year with synthetic chats, played through the real engine and
    /// stored in the configured database, so the report has something to show.
    ///
    /// Refuses a database that has chats already (demo chats must not mix with real ones;
    /// see --alongside-existing-data) and a school year that is not over. Default: the
    /// 2021-2022 school year with its real calendar and the published figures (8,813
    /// chats; takes a few minutes).
    DemoData(DemoDataArgs),
    /// Plan the staffing: play weeks of the desk through the real engine in virtual time
    /// and write, per hour of the week, who came, who was served, the waits, the
    /// utilisation and the hours without a medical counsellor, with Erlang C's and Erlang
    /// A's answers beside them.
    ///
    /// Example (the files in examples/simulate/): `clbchat simulate --params
    /// examples/simulate/params.toml --schedule examples/simulate/schedule.csv --output
    /// plan/` writes plan/simulation.md, .csv and .html. See docs/simulate.md.
    Simulate(SimulateArgs),
}

/// `simulate`.
#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// The parameter file (TOML): arrivals per hour of the week, chat lengths, patience,
    /// weeks, seed. With --from-history, only its weeks, seed and wrap-up count.
    #[arg(long, required_unless_present = "from_history")]
    pub params: Option<PathBuf>,
    /// Take the arrivals, chat lengths, patience and health questions from the desk's own
    /// history (the configured database, the last --history-weeks).
    #[arg(long)]
    pub from_history: bool,
    /// With --from-history: how many weeks back.
    #[arg(long, default_value_t = 12, value_parser = clap::value_parser!(u32).range(1..=104))]
    pub history_weeks: u32,
    /// The staffing per hour of the week (CSV: day,hour,counsellors,medical,capacity; or
    /// TOML with [[hours]] tables). May be left out with --target: the search starts from
    /// theory's answer.
    #[arg(long, required_unless_present = "target")]
    pub schedule: Option<PathBuf>,
    /// Weeks to play (instead of the parameter file's).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=60))]
    pub weeks: Option<u32>,
    /// The random seed (instead of the parameter file's).
    #[arg(long)]
    pub seed: Option<u64>,
    /// A folder for simulation.md, simulation.csv and simulation.html (made if missing);
    /// without it the markdown goes to stdout.
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// The language of what is written: nl (default) or en.
    #[arg(long, value_parser = parse_lang, default_value = "nl")]
    pub lang: crate::report::Lang,
    /// Search the fewest counsellors per hour that meet this target, e.g.
    /// "p90-wait=2m,abandon=5%" (nine in ten wait at most 2 minutes; at most 5% do not get
    /// a chat). Writes the answer as a schedule (recommended-schedule.csv) beside Erlang C's
    /// and Erlang A's (staffing.md). Exit code 2 when an hour misses the target even with
    /// --max-counsellors.
    #[arg(long)]
    pub target: Option<String>,
    /// The most counsellors an hour may have in the search.
    #[arg(long, default_value_t = 12, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub max_counsellors: u32,
}

/// `report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The school year by its first year (2021 = September 2021 to August 2022).
    /// Default: the current one. Ignored with --from and --to.
    #[arg(long)]
    pub school_year: Option<i32>,
    /// First day (YYYY-MM-DD, Brussels time), with --to.
    #[arg(long, requires = "to")]
    pub from: Option<chrono::NaiveDate>,
    /// Last day, included (YYYY-MM-DD), with --from.
    #[arg(long, requires = "from")]
    pub to: Option<chrono::NaiveDate>,
    /// Only this desk or chatbox (default: all of them).
    #[arg(long)]
    pub desk: Option<String>,
    /// markdown, csv, html (a page with charts) or json.
    #[arg(long, default_value = "markdown", value_parser = parse_format)]
    pub format: crate::report::Format,
    /// nl or en.
    #[arg(long, default_value = "nl", value_parser = parse_lang)]
    pub lang: crate::report::Lang,
    /// Write to this file instead of standard output.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// Also count a theme: its topic codes, comma-separated (e.g.
    /// pgz.covid_medical,pgz.vaccination_covid,psf.covid_related).
    #[arg(long, value_delimiter = ',')]
    pub theme: Vec<String>,
    /// The theme's name in the report (default: "Thema", or "Theme" with --lang en).
    #[arg(long)]
    pub theme_name: Option<String>,
    /// The theme's first day (default: the report's).
    #[arg(long)]
    pub theme_from: Option<chrono::NaiveDate>,
    /// The theme's last day (default: the report's).
    #[arg(long)]
    pub theme_to: Option<chrono::NaiveDate>,
}

/// `demo-data`.
#[derive(Debug, Args)]
pub struct DemoDataArgs {
    /// The school year by its first year; 2021 has its real calendar built in, another year
    /// uses desk.calendar_file.
    #[arg(long, default_value_t = crate::demo_data::DEFAULT_SCHOOL_YEAR)]
    pub school_year: i32,
    /// About how many chats the national desk holds in the year.
    #[arg(long, default_value_t = crate::demo_data::PUBLISHED_CHATS, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub chats: u32,
    /// The random seed (the same seed plays the same year).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Leave out the three centre chatboxes and their events.
    #[arg(long)]
    pub no_chatboxes: bool,
    /// Add demo chats to a database that has chats already (another demo year). Without
    /// it, demo data goes only into a database without any chat, so it never mixes with
    /// real ones.
    #[arg(long)]
    pub alongside_existing_data: bool,
}

fn parse_format(s: &str) -> std::result::Result<crate::report::Format, String> {
    crate::report::Format::parse(s)
        .ok_or_else(|| format!("`{s}` is not a format; write markdown, csv, html or json"))
}

fn parse_lang(s: &str) -> std::result::Result<crate::report::Lang, String> {
    crate::report::Lang::parse(s).ok_or_else(|| format!("`{s}` is not a language; write nl or en"))
}

/// Runs `simulate`: reads the files (and the history), plays (or searches the staffing),
/// writes; returns what to print and whether the target, if one was given, is met in every
/// hour.
pub fn simulate(settings: &Settings, args: &SimulateArgs) -> Result<(String, bool)> {
    use crate::simulate::{model, report, run, staffing};
    let read = |path: &PathBuf| std::fs::read_to_string(path).map_err(|e| Error::io(path, e));
    let target = args
        .target
        .as_deref()
        .map(staffing::Target::parse)
        .transpose()?;
    let mut scenario = match &args.params {
        Some(path) => {
            let name = path.display().to_string();
            let mut params = model::ParameterFile::parse(&read(path)?, &name)?;
            if let Some(w) = args.weeks {
                params.weeks = w;
            }
            if let Some(s) = args.seed {
                params.seed = s;
            }
            params.unchecked_scenario()?
        }
        None => model::Scenario {
            arrivals: vec![0.0; model::WEEK_HOURS],
            lengths: model::Lengths::Exponential { mean_minutes: 18.5 },
            patience: model::Patience::Endless,
            health_share: 0.0,
            chat_limit_minutes: Some(45.0),
            wrap_up_minutes: 0.0,
            schedule: model::Schedule::constant(model::Slot::default()),
            weeks: args.weeks.unwrap_or(4),
            seed: args.seed.unwrap_or(1),
            desk: None,
        },
    };
    if args.from_history {
        let desk = crate::app::desk_config(settings)?;
        let until = chrono::Utc::now();
        let since = until - chrono::Duration::weeks(i64::from(args.history_weeks));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Refused(format!("cannot start a runtime: {e}")))?;
        let history = runtime.block_on(async {
            let store = crate::app::open_store(settings).await?;
            let h = crate::simulate::history::from_store(
                &store,
                &desk.id,
                &desk.calendar,
                since,
                until,
            )
            .await;
            store.close().await;
            h
        })?;
        scenario.arrivals = history.arrivals;
        scenario.lengths = history.lengths;
        scenario.patience = history.patience;
        scenario.health_share = history.health_share;
        scenario.chat_limit_minutes = Some(desk.limits.chat_limit.as_secs_f64() / 60.0);
    }
    // The server's own desk: its limits, closing margin and rules.
    scenario.desk = Some(crate::app::desk_config(settings)?);
    scenario.schedule = match &args.schedule {
        Some(path) => {
            let name = path.display().to_string();
            let text = read(path)?;
            if path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("toml"))
            {
                model::Schedule::from_toml(&text, &name)?
            } else {
                model::Schedule::from_csv(&text, &name)?
            }
        }
        // Only with a target: one counsellor where visitors come; the search does the rest.
        None => model::Schedule::where_visitors_come(&scenario.arrivals),
    };
    scenario.check()?;
    let started = std::time::Instant::now();
    let (figures, advice, visitors) = match &target {
        None => {
            let played = run::play(&scenario)?;
            let visitors = played.visits.len();
            (report::figures(&scenario, &played), None, visitors)
        }
        Some(t) => {
            let advice = staffing::search(&scenario, t, args.max_counsellors)?;
            let visitors = advice
                .figures
                .hours
                .iter()
                .map(|h| h.offered as usize)
                .sum();
            (advice.figures.clone(), Some(advice), visitors)
        }
    };
    let took = started.elapsed();
    let met = advice.as_ref().is_none_or(|a| a.unmet().is_empty());
    let markdown = report::markdown(&figures, args.lang);
    let Some(dir) = &args.output else {
        return Ok(match &advice {
            Some(a) => (
                format!(
                    "{}\n{}",
                    staffing::markdown(a, args.lang),
                    a.schedule.to_csv()
                ),
                met,
            ),
            None => (markdown, met),
        });
    };
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let mut written = Vec::new();
    let mut write = |name: &str, text: String| {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(|e| Error::io(&path, e))?;
        written.push(path.display().to_string());
        Ok::<(), Error>(())
    };
    write("simulation.md", markdown)?;
    write("simulation.csv", report::csv(&figures))?;
    write("simulation.html", report::html(&figures, args.lang)?)?;
    let mut out = String::new();
    if let Some(a) = &advice {
        write("staffing.md", staffing::markdown(a, args.lang))?;
        write("recommended-schedule.csv", a.schedule.to_csv())?;
        out.push_str(&format!("the search took {} plays\n", a.plays));
        for h in a.unmet() {
            out.push_str(&format!(
                "not met: {} even with {} counsellors (see staffing.md)\n",
                crate::simulate::model::hour_name(h.hour),
                h.simulated
            ));
        }
    }
    out.push_str(&format!(
        "{visitors} visitors in {} week(s) played in {:.1} s; written: {}\n",
        scenario.weeks,
        took.as_secs_f64(),
        written.join(", ")
    ));
    Ok((out, met))
}

/// The query of a `report` command, at `now`.
pub fn report_query(
    args: &ReportArgs,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<clbchat_core::statistics::ReportQuery> {
    use clbchat_core::statistics::{school_year_of, ReportQuery, REPORT_TIME_ZONE};
    let desk = args.desk.clone().map(DeskId::new);
    let query = match (args.from, args.to) {
        (Some(from), Some(to)) => ReportQuery::for_dates(desk, from, to, now)?,
        _ => {
            let year = args.school_year.unwrap_or_else(|| {
                school_year_of(now.with_timezone(&REPORT_TIME_ZONE).date_naive())
            });
            ReportQuery::school_year(desk, year, now)?
        }
    };
    if args.theme.is_empty() {
        if args.theme_from.is_some() || args.theme_to.is_some() {
            return Err(Error::Refused(
                "--theme-from and --theme-to need --theme with topic codes (e.g. --theme pgz.covid_medical)".into(),
            ));
        }
        return Ok(query);
    }
    let (from, to) = query.period.local_dates();
    let topics = args
        .theme
        .iter()
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
        .collect();
    Ok(query.with_theme(
        args.theme_name
            .clone()
            .unwrap_or_else(|| args.lang.pick("Thema", "Theme").to_owned()),
        topics,
        args.theme_from.unwrap_or(from),
        args.theme_to.unwrap_or(to),
    )?)
}

/// Runs `report` against the configured store; returns the document.
///
/// The report counts the events of every stored calendar (a centre's chatbox, the desk's
/// own when it was edited on the coordinator page) and of the settings' calendar file, and
/// names the centres the store knows.
pub async fn report(settings: &Settings, args: &ReportArgs) -> Result<String> {
    use clbchat_core::store::Store as _;
    let mut query = report_query(args, chrono::Utc::now())?;
    let own = DeskId::new(settings.desk.id.clone());
    let store = crate::app::open_store(settings).await?;
    let read = async {
        let mut calendars = store.calendars().await?;
        if !calendars.iter().any(|(d, _)| d == &own) {
            calendars.push((own.clone(), settings.calendar()?));
        }
        query.add_events(calendars.iter().map(|(d, c)| (d, c)));
        let centres = store.centres().await?;
        Ok::<_, Error>((store.report(&query).await?, centres))
    }
    .await;
    store.close().await;
    let (data, centres) = read?;
    let mut desk_names: std::collections::BTreeMap<DeskId, String> =
        centres.into_iter().map(|c| (c.desk(), c.name)).collect();
    desk_names.insert(own, settings.desk.name.clone());
    if settings.sector.host_blended {
        let b = &settings.sector.blended_desk;
        desk_names.insert(DeskId::new(b.id.clone()), b.name.clone());
    }
    let options = crate::report::Options {
        lang: args.lang,
        desk_names,
        generated_at: Some(chrono::Utc::now()),
    };
    crate::report::render(&data, args.format, &options)
}

/// The 2021-2022 CLBch@t calendar, with its holidays and closures (the demo's default year).
const CALENDAR_2021_2022: &str = include_str!("../../../core/tests/data/clbchat-2021-2022.toml");

/// Runs `demo-data` on a runtime of its own (a current-thread runtime on paused time, see
/// [`crate::demo_data`]); returns what to print.
pub fn demo_data(settings: &Settings, args: &DemoDataArgs) -> Result<String> {
    use clbchat_core::calendar::Calendar;
    let calendar = if args.school_year == crate::demo_data::DEFAULT_SCHOOL_YEAR {
        toml::from_str::<Calendar>(CALENDAR_2021_2022)
            .map_err(|e| Error::Refused(format!("the built-in 2021-2022 calendar: {e}")))?
    } else {
        let c = settings.calendar()?;
        if c == Calendar::always_open() {
            return Err(Error::Refused(format!(
                "demo-data --school-year {}: the desk has no calendar (set desk.calendar_file), \
                 and only 2021-2022's is built in (--school-year 2021)",
                args.school_year
            )));
        }
        c
    };
    let (_, last_day) = clbchat_core::statistics::school_year_dates(args.school_year)?;
    let today = chrono::Utc::now()
        .with_timezone(&clbchat_core::statistics::REPORT_TIME_ZONE)
        .date_naive();
    if last_day >= today {
        return Err(Error::Refused(format!(
            "demo-data --school-year {}: that school year is not over yet; demo data fills a \
             past one only (e.g. --school-year {})",
            args.school_year,
            crate::demo_data::DEFAULT_SCHOOL_YEAR
        )));
    }
    let desk = crate::app::desk_config(settings)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .map_err(|e| Error::Refused(format!("cannot start the runtime: {e}")))?;
    // The store lives on a runtime on real time, the engine on the paused one: the
    // pool's timers must not run on a clock that jumps (see `crate::demo_data`).
    let store_runtime = crate::demo_data::StoreRuntime::start()?;
    runtime.block_on(async {
        let mut options = clbchat_store_sql::SqlOptions::new();
        options.durability = clbchat_store_sql::Durability::Normal;
        options.group_commit_max_delay = std::time::Duration::ZERO;
        let opening = settings.clone();
        let store = std::sync::Arc::new(
            store_runtime
                .run(async move { crate::app::open_store_with(&opening, options).await })
                .await??,
        );
        let close = |store: std::sync::Arc<clbchat_store_sql::SqlStore>| {
            store_runtime.run(async move { store.close().await })
        };
        let view = crate::demo_data::Unhurried::new(store.clone(), &store_runtime);
        let label = clbchat_core::statistics::school_year_label(args.school_year);
        let refusal = if crate::demo_data::year_has_chats(&view, args.school_year).await? {
            Some(format!(
                "the database already has chats in {label}; demo data only goes into an empty \
                 school year (choose another with --school-year, or another database with \
                 CLBCHAT_STORAGE__URL)"
            ))
        } else if !args.alongside_existing_data && crate::demo_data::store_has_chats(&view).await?
        {
            Some(
                "the database already has chats (real ones, perhaps), and demo chats must not \
                 mix with them: give the demo a database of its own, e.g. \
                 CLBCHAT_STORAGE__URL=sqlite://data/demo.db (or, if this database is a demo \
                 one, add --alongside-existing-data)"
                    .to_owned(),
            )
        } else {
            None
        };
        if let Some(why) = refusal {
            close(store).await?;
            return Err(Error::Refused(why));
        }
        let started = std::time::Instant::now();
        let ledger = crate::demo_data::play_school_year(
            store.clone(),
            &store_runtime,
            crate::demo_data::DemoOptions {
                desk,
                school_year: args.school_year,
                calendar,
                chats: args.chats,
                chatboxes: !args.no_chatboxes,
                seed: args.seed,
            },
        )
        .await;
        close(store).await?;
        let ledger = ledger?;
        Ok(format!(
             "demo data for {}: {} visitors, {} chats, {} left the queue, {} turned away \
             ({:.0} s)\nsee it with: clbchat report --school-year {} --format html --output report.html\n",
            clbchat_core::statistics::school_year_label(args.school_year),
            ledger.arrivals,
            ledger.chats.len(),
            ledger.left_queue,
            ledger.refused,
            started.elapsed().as_secs_f64(),
            args.school_year
        ))
    })
}

/// `centres …`.
#[derive(Debug, Subcommand)]
pub enum CentresCommand {
    /// List the centres and their chatbox addresses.
    List,
    /// Add centres from a .toml or .csv file, or update the name and websites of known
    /// ones (nothing is deleted). The file is checked whole first: one bad line stores
    /// nothing. Example file: examples/chat-met-je-clb/config/centres.toml.
    Import {
        /// The file.
        file: PathBuf,
    },
}

/// `centres list` and `centres import`.
pub async fn centres(settings: &Settings, cmd: CentresCommand) -> Result<String> {
    let store = crate::app::open_store(settings).await?;
    let out = centres_on(&store, cmd).await;
    store.close().await;
    out
}

async fn centres_on(store: &dyn Store, cmd: CentresCommand) -> Result<String> {
    match cmd {
        CentresCommand::List => {
            let centres = store.centres().await?;
            if centres.is_empty() {
                return Ok("no centres yet (add them with `centres import FILE`)\n".into());
            }
            let mut out = String::new();
            for c in centres {
                out.push_str(&format!(
                    "{}\t{}\t/c/{}\t{}\n",
                    c.id,
                    c.name,
                    c.id,
                    c.origins.join(" ")
                ));
            }
            Ok(out)
        }
        CentresCommand::Import { file } => {
            let centres = crate::centres::read_file(&file, chrono::Utc::now())?;
            let done = crate::centres::import(store, &centres).await?;
            Ok(format!(
                "{} centres in {}: {} added, {} changed, {} as they were (a running server \
                 opens a new centre's box when it is first visited)\n",
                centres.len(),
                file.display(),
                done.added,
                done.changed,
                done.unchanged
            ))
        }
    }
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
    /// The centre they work for (e.g. `clb-gent`): blended-chat trajectories belong to it.
    #[arg(long)]
    pub centre: Option<String>,
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
    /// The sector's administrator: creates centres and their coordinators, reads every
    /// desk's statistics; belongs to no desk's team.
    Administrator,
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
/// `accounts …`. On a server of centres' boxes (`centres`), an account's desks are
/// centres' ids: `accounts add` needs `--desk` and refuses an unknown centre.
pub async fn accounts(settings: &Settings, cmd: AccountsCommand, centres: bool) -> Result<String> {
    let store = crate::app::open_store(settings).await?;
    let out = accounts_on(&store, settings, cmd, centres).await;
    store.close().await;
    out
}

async fn accounts_on(
    store: &dyn Store,
    settings: &Settings,
    cmd: AccountsCommand,
    centres: bool,
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
            if centres && !matches!(add.role, RoleArg::Administrator) {
                if add.desks.is_empty() {
                    return Err(Error::Refused(
                        "--desk: name the centre whose box they serve, e.g. --desk \
                         clb-hasselt (`centres list` shows the centres)"
                            .into(),
                    ));
                }
                for d in &add.desks {
                    let id = clbchat_core::ids::CentreId::new(d.clone());
                    if store.centre(&id).await?.is_none() {
                        return Err(Error::Refused(format!(
                            "--desk {d}: there is no centre `{d}` (`centres list` shows them)"
                        )));
                    }
                }
            }
            let desks = if matches!(add.role, RoleArg::Administrator) {
                add.desks.into_iter().map(DeskId::new).collect()
            } else if add.desks.is_empty() {
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
                        RoleArg::Administrator => StaffRole::Administrator,
                    },
                    discipline: discipline(add.discipline),
                    desks,
                    capacity: add.capacity,
                    centre: add.centre.map(clbchat_core::ids::CentreId::new),
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
