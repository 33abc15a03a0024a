use std::path::{Path, PathBuf};

use chat_met_je_clb::defaults;
use clbchat_assembly::settings::Settings;
use clbchat_assembly::testing::{Binary, Program};
use serde_json::Value;

fn program() -> Program {
    Program {
        path: PathBuf::from(env!("CARGO_BIN_EXE_chat-met-je-clb")),
        name: "chat-met-je-clb",
    }
}

/// `chat-met-je-clb centres import FILE` in `dir`: the exit code, stdout and stderr.
fn import(dir: &Path, file: &Path) -> (i32, String, String) {
    program().run(dir, &["centres", "import", file.to_str().unwrap()], &[], "")
}

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("config")
        .join(name)
}

#[test]
fn the_example_configuration_lists_every_setting_at_its_default() {
    let file = example("chat-met-je-clb.toml");
    let loaded = Settings::load_for(Some(&file), &chat_met_je_clb::SERVICE.defaults)
        .expect("the example file loads");
    assert_eq!(loaded, defaults());
    let text = std::fs::read_to_string(&file).unwrap();
    let all = toml::to_string(&defaults()).unwrap();
    for key in all
        .lines()
        .filter(|l| l.contains(" = "))
        .filter_map(|l| l.split(" = ").next())
    {
        assert!(
            text.lines().any(|l| l.starts_with(&format!("{key} = "))),
            "examples/chat-met-je-clb/config/chat-met-je-clb.toml lacks `{key}`"
        );
    }
}

#[test]
fn help_says_what_it_serves() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out, _) = program().run(dir.path(), &["--help"], &[], "");
    assert_eq!(code, 0);
    for word in [
        "chat-met-je-clb",
        "/c/<centre>",
        "8082",
        "data/chat-met-je-clb",
        "centres import",
    ] {
        assert!(out.contains(word), "--help mentions {word}:\n{out}");
    }
}

/// The centres from the example files: TOML and CSV give the same three; a bad file says
/// which line and stores nothing.
#[test]
fn centres_are_imported_from_toml_or_csv_and_a_bad_line_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let toml = example("centres.toml");
    let (code, out, err) = import(dir.path(), &toml);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("3 added"), "{out}");
    let csv = example("centres.csv");
    let (code, out, err) = import(dir.path(), &csv);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("0 added, 0 changed, 3 as they were"),
        "the CSV example holds the same centres: {out}"
    );
    let bad = dir.path().join("bad.csv");
    std::fs::write(
        &bad,
        "id,name\nclb-brugge,CLB Brugge\nCLB Oostende,CLB Oostende\n",
    )
    .unwrap();
    let (code, _, err) = import(dir.path(), &bad);
    assert_ne!(code, 0);
    assert!(
        err.contains("bad.csv line 3: centre id `CLB Oostende`"),
        "{err}"
    );
    // Accounts name a centre's box.
    for (args, says) in [
        (
            vec!["accounts", "add", "ines", "--alias", "Ines"],
            "--desk: name the centre",
        ),
        (
            vec![
                "accounts",
                "add",
                "ines",
                "--alias",
                "Ines",
                "--desk",
                "clb-nergens",
            ],
            "there is no centre `clb-nergens`",
        ),
    ] {
        let (code, _, err) = program().run(dir.path(), &args, &[], "een lang wachtwoord\n");
        assert_ne!(code, 0);
        assert!(err.contains(says), "{err}");
    }
    let (code, _, err) = program().run(
        dir.path(),
        &[
            "accounts",
            "add",
            "ines",
            "--alias",
            "Ines",
            "--desk",
            "clb-hasselt",
        ],
        &[],
        "een lang wachtwoord\n",
    );
    assert_eq!(code, 0, "{err}");
    let (code, out, _) = program().run(dir.path(), &["centres", "list"], &[], "");
    assert_eq!(code, 0);
    assert!(
        out.contains("vclb-kempen\tVrij CLB Kempen\t/c/vclb-kempen"),
        "{out}"
    );
    assert!(
        !out.contains("clb-brugge"),
        "nothing of a bad file is stored:\n{out}"
    );
}

/// With no configuration: its own data folder, a setup link for the sector's
/// administrator, the list of centres, each centre's chatbox at its own address (closed
/// until the centre opens it), a kind page for an unknown centre.
#[tokio::test]
async fn it_starts_on_its_defaults_and_serves_each_centres_box() {
    let dir = tempfile::tempdir().unwrap();
    let toml = example("centres.toml");
    let (code, _, err) = import(dir.path(), &toml);
    assert_eq!(code, 0, "{err}");
    let mut server = Binary::start(&program(), dir.path(), 0, &[]);
    let line = server.wait_printed("No administrator account exists yet");
    assert!(
        line.contains("data/chat-met-je-clb/setup-link.txt"),
        "{line}"
    );
    assert!(dir
        .path()
        .join("data/chat-met-je-clb/chat-met-je-clb.db")
        .exists());
    let http = reqwest::Client::new();
    let get = |path: &str| {
        let url = format!("http://{}{path}", server.addr);
        let http = http.clone();
        async move { http.get(url).send().await.unwrap() }
    };

    let list: Value = get("/api/centres").await.json().await.unwrap();
    let names: Vec<&str> = list["centres"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["CLB Aalst", "CLB Hasselt", "Vrij CLB Kempen"]);
    assert!(
        list["centres"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["open"] == false),
        "every box is closed until its centre opens it: {list}"
    );

    let r = get("/c/clb-hasselt").await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("data-desk=\"clb-hasselt\""),
        "the page is for its centre"
    );
    assert!(html.contains("Chat met je CLB") && !html.contains("{{"));
    let info: Value = get("/api/info?desk=clb-hasselt")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(info["desk"]["name"], "CLB Hasselt");
    assert_eq!(info["hours"]["events_only"], true, "{info}");
    assert_eq!(
        info["national_desk"]["url"], "https://www.clbchat.be/",
        "a closed box points to the national desk: {info}"
    );
    assert_eq!(info["national_desk"]["hours"][2]["day"], "wed");

    // Framing: only on the centre's own websites (Hasselt has none, Aalst one).
    let own = get("/c/clb-hasselt").await;
    assert_eq!(own.headers()["x-frame-options"], "DENY");
    let csp = own.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    let aalst = get("/c/clb-aalst").await;
    assert!(aalst.headers().get("x-frame-options").is_none());
    let csp = aalst.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("frame-ancestors 'self' https://www.clb-aalst.example;"),
        "{csp}"
    );
    let snippet = get("/c/vclb-kempen/embed.js").await;
    assert_eq!(snippet.status(), 200);
    assert!(snippet.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/javascript"));
    let js = snippet.text().await.unwrap();
    assert!(js.contains("'/c/vclb-kempen'"), "{js}");
    assert!(js.contains("\"Chat met je CLB – Vrij CLB Kempen\""), "{js}");
    assert_eq!(get("/c/clb-nergens/embed.js").await.status(), 404);

    for path in ["/c/clb-nergens", "/c/CLB%20Gent"] {
        let r = get(path).await;
        assert_eq!(r.status(), 404, "{path}");
        let html = r.text().await.unwrap();
        assert!(html.contains("Dit CLB vinden we niet"), "{path}");
    }
    let unknown = get("/api/info?desk=clb-nergens").await;
    assert_eq!(unknown.status(), 404);
    for (path, words) in [
        ("/", "centres.js"),
        ("/counsellor", "counsellor.js"),
        ("/coordinator", "coordinator.js"),
        ("/setup", "Chat met je CLB"),
    ] {
        let r = get(path).await;
        assert_eq!(r.status(), 200, "{path}");
        assert!(
            r.text().await.unwrap().contains(words),
            "{path} lacks {words}"
        );
    }

    // A centre imported while it runs opens its box at its first visit.
    let more = dir.path().join("more.csv");
    std::fs::write(&more, "id,name\nclb-brugge,CLB Brugge\n").unwrap();
    let (code, _, err) = import(dir.path(), &more);
    assert_eq!(code, 0, "{err}");
    assert_eq!(get("/c/clb-brugge").await.status(), 200);
    let info: Value = get("/api/info?desk=clb-brugge").await.json().await.unwrap();
    assert_eq!(info["desk"]["name"], "CLB Brugge");

    let (code, _) = server.terminate();
    assert_eq!(code, Some(0), "{}", server.logs());
}
