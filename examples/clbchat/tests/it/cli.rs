//! The command line: help, configuration errors that name the setting, accounts, migrate,
//! and the example configuration file kept in step with the defaults.

use std::path::Path;

use clbchat_assembly::settings::Settings;

use crate::support::*;

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

#[test]
fn help_reads_well_and_lists_the_jobs() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out, _) = run_binary(dir.path(), &["--help"], &[], "");
    assert_eq!(code, 0);
    for word in [
        "serve", "migrate", "accounts", "keys", "config", "--config", "CLBCHAT_",
    ] {
        assert!(out.contains(word), "--help mentions {word}:\n{out}");
    }
    let (code, out, _) = run_binary(dir.path(), &["accounts", "add", "--help"], &[], "");
    assert_eq!(code, 0);
    assert!(
        out.contains("--discipline") && out.contains("medical"),
        "{out}"
    );
}

#[test]
fn configuration_errors_name_the_setting_and_what_to_write() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    type Case<'a> = (String, Vec<(&'a str, &'a str)>, Vec<&'a str>);
    let cases: Vec<Case<'_>> = vec![
        (
            write(d, "bad-listen.toml", "[server]\nlisten = \"somewhere\"\n"),
            vec![],
            vec!["server.listen", "bad-listen.toml"],
        ),
        (
            write(d, "unknown.toml", "[desk]\nchat_limit = 45\n"),
            vec![],
            vec!["unknown field", "chat_limit", "chat_limit_minutes"],
        ),
        (
            write(d, "syntax.toml", "[server\nlisten = 1\n"),
            vec![],
            vec!["syntax.toml"],
        ),
        (
            write(d, "limit.toml", "[desk]\nchat_limit_minutes = 10\n"),
            vec![],
            vec!["desk.chat_limit_minutes", "at least 15"],
        ),
        (
            write(d, "url.toml", "[storage]\nurl = \"mysql://x\"\n"),
            vec![],
            vec!["storage.url", "sqlite://"],
        ),
        (
            write(d, "ok.toml", "[desk]\nname = \"Test\"\n"),
            vec![("CLBCHAT_DESK__MAX_QUEUE", "lots")],
            vec!["desk.max_queue", "CLBCHAT_DESK__MAX_QUEUE"],
        ),
        (
            write(
                d,
                "cal.toml",
                "[desk]\ncalendar_file = \"missing-calendar.toml\"\n",
            ),
            vec![],
            vec!["desk.calendar_file", "missing-calendar.toml"],
        ),
    ];
    for (file, env, wanted) in cases {
        let (code, _, err) = run_binary(d, &["--config", &file, "config", "check"], &env, "");
        assert_eq!(
            code, 78,
            "{file}: exit code for a configuration error; stderr:\n{err}"
        );
        for w in wanted {
            assert!(err.contains(w), "{file}: the error mentions {w}:\n{err}");
        }
    }
    let (code, _, err) = run_binary(d, &["--config", "nowhere.toml"], &[], "");
    assert_eq!(code, 78);
    assert!(
        err.contains("nowhere.toml") && err.contains("does not exist"),
        "{err}"
    );
}

#[test]
fn the_example_configuration_lists_every_setting_at_its_default() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/clbchat.toml");
    let loaded = Settings::load(Some(&example)).expect("the example file loads");
    assert_eq!(loaded, Settings::default());
    // Every key of the defaults is written out in the file (not left to a default).
    let text = std::fs::read_to_string(&example).unwrap();
    let defaults = toml::to_string(&Settings::default()).unwrap();
    for line in defaults.lines().filter(|l| l.contains(" = ")) {
        let key = line.split(" = ").next().unwrap();
        assert!(
            text.lines().any(|l| l.starts_with(&format!("{key} = "))),
            "examples/clbchat/config/clbchat.toml lacks `{key}`"
        );
    }
    // And the example calendar is valid.
    let dir = tempfile::tempdir().unwrap();
    let cal = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/calendar.toml");
    let (code, out, err) = run_binary(
        dir.path(),
        &["config", "check"],
        &[("CLBCHAT_DESK__CALENDAR_FILE", cal.to_str().unwrap())],
        "",
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("valid"));
}

/// The key file that seals the chats' text: made beside the database on the first start;
/// missing or damaged later, the server does not start, and says which file and what to do
/// (a fresh, empty key file would make every stored chat unreadable).
#[test]
fn a_missing_or_damaged_key_file_stops_the_start_and_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (code, _, err) = run_binary(d, &["migrate"], &[], "");
    assert_eq!(code, 0, "{err}");
    let keys = d.join("data/clbchat.db.keys");
    assert!(keys.exists(), "the key file is made beside the database");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&keys).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the key file is readable by its owner only");
    }

    let aside = d.join("keys-aside");
    std::fs::rename(&keys, &aside).unwrap();
    let (code, _, err) = run_binary(d, &["migrate"], &[], "");
    assert_eq!(code, 78, "{err}");
    assert!(
        err.contains("storage.key_file: the key file `data/clbchat.db.keys` is missing")
            && err.contains("restore it from its backup"),
        "{err}"
    );
    assert!(!keys.exists(), "no empty key file is made in its place");

    std::fs::write(&keys, "not a key file, just text written over it").unwrap();
    let (code, _, err) = run_binary(d, &["migrate"], &[], "");
    assert_eq!(code, 78, "{err}");
    assert!(
        err.contains("storage.key_file: the key file `data/clbchat.db.keys` cannot be read"),
        "{err}"
    );

    std::fs::rename(&aside, &keys).unwrap();
    let (code, _, err) = run_binary(d, &["migrate"], &[], "");
    assert_eq!(code, 0, "restored, it starts again: {err}");
}

#[test]
fn accounts_and_migrations_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (code, out, err) = run_binary(d, &["migrate"], &[], "");
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("up to date"));
    assert!(
        d.join("data/clbchat.db").exists(),
        "the default database is ./data/clbchat.db"
    );

    let (code, out, err) = run_binary(
        d,
        &[
            "accounts",
            "add",
            "ann",
            "--alias",
            "Ann",
            "--discipline",
            "medical",
            "--capacity",
            "2",
        ],
        &[],
        "een lang wachtwoord\n",
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("added"));
    let (code, _, err) = run_binary(
        d,
        &["accounts", "add", "bob", "--alias", "Bob"],
        &[],
        "kort\n",
    );
    assert_eq!(code, 1);
    assert!(err.contains("at least 10"), "{err}");
    let (code, _, err) = run_binary(
        d,
        &["accounts", "add", "ann", "--alias", "Ann"],
        &[],
        "een lang wachtwoord\n",
    );
    assert_eq!(code, 1);
    assert!(err.contains("exists already"), "{err}");

    let (_, out, _) = run_binary(d, &["accounts", "list"], &[], "");
    let ann = out.lines().find(|l| l.starts_with("ann ")).expect(&out);
    assert!(
        ann.contains("medical") && ann.contains("yes") && ann.contains("clbchat"),
        "{ann}"
    );
    assert!(!out.contains("argon2"), "hashes are never printed");

    let (code, _, _) = run_binary(d, &["accounts", "deactivate", "ann"], &[], "");
    assert_eq!(code, 0);
    let (_, out, _) = run_binary(d, &["accounts", "list"], &[], "");
    assert!(
        out.lines()
            .any(|l| l.starts_with("ann ") && l.contains(" no ")),
        "{out}"
    );
    let (code, _, err) = run_binary(d, &["accounts", "deactivate", "nobody"], &[], "");
    assert_eq!(code, 1);
    assert!(err.contains("no account `nobody`"), "{err}");
}
