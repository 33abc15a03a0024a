use std::path::{Path, PathBuf};

use blended_chat::defaults;
use clbchat_assembly::settings::Settings;
use clbchat_assembly::testing::{Binary, Program};
use clbchat_core::appointment::{Appointment, AppointmentStatus};
use clbchat_core::event::{ClientProfile, EndReason, EventBody, LoggedEvent, Role};
use clbchat_core::ids::{
    AppointmentId, CentreId, ClientMsgId, ConversationId, DeskId, StaffId, TrajectoryId,
};
use clbchat_core::store::{ConversationMeta, ConversationState, Store};
use clbchat_store_sql::{SqlOptions, SqlStore};
use clbchat_transport_ws::client::Client;
use clbchat_transport_ws::tokio_tungstenite::tungstenite::Message;
use serde_json::{json, Value};

const PASSWORD: &str = "een lang wachtwoord";

fn program() -> Program {
    Program {
        path: PathBuf::from(env!("CARGO_BIN_EXE_blended-chat")),
        name: "blended-chat",
    }
}

#[test]
fn the_example_configuration_lists_every_setting_at_its_default() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/blended-chat.toml");
    let loaded = Settings::load_for(Some(&example), &blended_chat::SERVICE.defaults)
        .expect("the example file loads");
    assert_eq!(loaded, defaults());
    let text = std::fs::read_to_string(&example).unwrap();
    for line in toml_lines(&defaults()) {
        let key = line.split(" = ").next().unwrap().to_owned();
        assert!(
            text.lines().any(|l| l.starts_with(&format!("{key} = "))),
            "examples/blended-chat/config/blended-chat.toml lacks `{key}`"
        );
    }
}

fn toml_lines(s: &Settings) -> Vec<String> {
    let text = toml::to_string(s).unwrap();
    text.lines()
        .filter(|l| l.contains(" = "))
        .map(str::to_owned)
        .collect()
}

#[test]
fn help_says_what_it_serves() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out, _) = program().run(dir.path(), &["--help"], &[], "");
    assert_eq!(code, 0);
    for word in [
        "blended-chat",
        "/join",
        "/counsellor",
        "8081",
        "data/blended-chat",
    ] {
        assert!(out.contains(word), "--help mentions {word}:\n{out}");
    }
}

/// Blended chat's own server hosts no second blended desk: a deployer who sets
/// `sector.host_blended` here is told why, and the server does not start (78: a setting).
#[test]
fn it_refuses_to_host_blended_chat_beside_itself() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = program().run(
        dir.path(),
        &[],
        &[("CLBCHAT_SECTOR__HOST_BLENDED", "true")],
        "",
    );
    assert_eq!(code, 78, "{err}");
    assert!(
        err.contains("leave sector.host_blended false: its own desk is blended chat already"),
        "{err}"
    );
    // With a desk id of its own it still says so, once it knows its desk.
    let (code, _, err) = program().run(
        dir.path(),
        &[],
        &[
            ("CLBCHAT_SECTOR__HOST_BLENDED", "true"),
            ("CLBCHAT_DESK__ID", "afspraken"),
        ],
        "",
    );
    assert_eq!(code, 78, "{err}");
    assert!(
        err.contains("sector.host_blended: this server's own desk is blended chat already"),
        "{err}"
    );
}

/// With no configuration at all: its own data folder, owner-only files, the setup link, and
/// every page on one port.
#[tokio::test]
async fn it_starts_on_its_defaults_and_serves_its_pages() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Binary::start(&program(), dir.path(), 0, &[]);
    let line = server.wait_printed("No coordinator account exists yet");
    assert!(line.contains("data/blended-chat/setup-link.txt"), "{line}");
    let db = dir.path().join("data/blended-chat/blended-chat.db");
    assert!(db.exists(), "the database is in ./data/blended-chat");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&db).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the database is readable by its owner only");
    }
    let http = reqwest::Client::new();
    for (path, words) in [
        ("/", "link"),
        ("/join", "join.js"),
        ("/counsellor", "planner.js"),
        ("/coordinator", "coordinator.js"),
        ("/assets/join.js", "appointment_link"),
        ("/assets/planner.js", "plan_appointment"),
        ("/assets/blended-texts.js", "wachtkamer"),
        ("/healthz", "ok"),
    ] {
        let r = http
            .get(format!("http://{}{path}", server.addr))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{path}");
        let body = r.text().await.unwrap();
        assert!(body.contains(words), "{path} lacks {words}");
    }
    // The shared pages carry this service's name, not the national desk's.
    for path in ["/coordinator", "/setup"] {
        let body = http
            .get(format!("http://{}{path}", server.addr))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(body.contains("CLB-chat"), "{path} names the service");
        assert!(
            !body.contains("CLBch@t") && !body.contains("{{brand}}"),
            "{path} shows another service's name or a blank mark"
        );
    }
    let (code, _) = server.terminate();
    assert_eq!(code, Some(0), "{}", server.logs());
}

async fn login(server: &Binary, user: &str) -> Client {
    let mut c = Client::connect(&server.ws(), Some(&server.origin()))
        .await
        .unwrap();
    let answer = ask(
        &mut c,
        json!({"type": "login", "username": user, "password": PASSWORD}),
    )
    .await;
    assert_eq!(answer["type"], "logged_in", "{answer}");
    c
}

/// Sends a frame and gives its answer as JSON (events on the way are passed over).
async fn ask(c: &mut Client, frame: Value) -> Value {
    let mut frame = frame;
    frame["req"] = json!(7);
    c.send_raw(Message::text(frame.to_string())).await.unwrap();
    loop {
        match c.next_frame().await {
            Some(f) if f.req() == Some(7) => return serde_json::to_value(&f).unwrap(),
            Some(_) => continue,
            None => panic!("closed before answering {frame}: {:?}", c.close_reason()),
        }
    }
}

/// A session planned, the server stopped and started again: the link and the list are as
/// they were.
#[tokio::test]
async fn appointments_and_links_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    add_account(dir.path(), "ann", "Ann", "clb-gent");
    let mut server = Binary::start(&program(), dir.path(), 0, &[]);
    let mut ann = login(&server, "ann").await;
    let starts = chrono::Utc::now() + chrono::Duration::days(2);
    let planned = ask(
        &mut ann,
        json!({"type": "plan_appointment", "desk": "blended", "booking": {
            "client_name": "Lotte Peeters", "starts_at": starts, "length_minutes": 45}}),
    )
    .await;
    assert_eq!(planned["type"], "appointment", "{planned}");
    let token = planned["token"].as_str().unwrap().to_owned();
    let id = planned["appointment"]["id"].clone();

    // The calendar file to send with the link: the session's times and the link, never
    // the client's name; a wrong token gets none.
    let http = reqwest::Client::new();
    let ics = http
        .post(format!("http://{}/api/appointment.ics", server.addr))
        .header("Origin", server.origin())
        .json(&json!({"token": token}))
        .send()
        .await
        .unwrap();
    assert_eq!(ics.status(), 200);
    assert!(ics.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/calendar"));
    let text = ics.text().await.unwrap();
    let unfolded = text.replace("\r\n ", "");
    for want in [
        "BEGIN:VCALENDAR",
        "BEGIN:VEVENT",
        "DTSTART:",
        "DTEND:",
        "Ann",
    ] {
        assert!(
            text.contains(want),
            "the calendar file lacks {want}:\n{text}"
        );
    }
    assert!(
        unfolded.contains(&format!("{}/join#token={token}", server.origin())),
        "the calendar file carries the link:\n{text}"
    );
    assert!(!text.contains("Lotte"), "never the client's name");
    let wrong = http
        .post(format!("http://{}/api/appointment.ics", server.addr))
        .json(&json!({"token": "verkeerd"}))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 404);
    let body: Value = wrong.json().await.unwrap();
    assert!(
        body["message"].as_str().unwrap().contains("not valid"),
        "{body}"
    );
    drop(ann);
    let (code, _) = server.terminate();
    assert_eq!(code, Some(0), "{}", server.logs());
    assert!(
        !server.logs().contains(&token),
        "the join token is never logged"
    );

    let mut again = Binary::start(&program(), dir.path(), 0, &[]);
    let mut visitor = Client::connect(&again.ws(), Some(&again.origin()))
        .await
        .unwrap();
    let link = ask(
        &mut visitor,
        json!({"type": "appointment_link", "desk": "blended", "token": token}),
    )
    .await;
    assert_eq!(link["type"], "appointment_link", "{link}");
    assert_eq!(link["link"]["state"], "too_early");
    assert_eq!(link["link"]["counsellor"], "Ann");
    let mut ann = login(&again, "ann").await;
    let list = ask(&mut ann, json!({"type": "appointments", "which": "coming"})).await;
    assert_eq!(list["appointments"][0]["id"], id, "{list}");
    assert_eq!(list["appointments"][0]["client_name"], "Lotte Peeters");
    let (code, _) = again.terminate();
    assert_eq!(code, Some(0));
}

fn add_account(dir: &Path, user: &str, alias: &str, centre: &str) {
    let (code, _, err) = program().run(
        dir,
        &[
            "accounts", "add", user, "--alias", alias, "--centre", centre,
        ],
        &[],
        &format!("{PASSWORD}\n"),
    );
    assert_eq!(code, 0, "{err}");
}

/// Over the protocol, against the real server: staff of another centre, and a colleague
/// of the same centre who holds none of its sessions, can neither read a trajectory nor
/// see, move, cancel or relink its sessions.
#[tokio::test]
async fn staff_outside_a_trajectory_are_refused_every_frame() {
    let dir = tempfile::tempdir().unwrap();
    add_account(dir.path(), "ann", "ann", "clb-gent");
    add_account(dir.path(), "dirk", "dirk", "clb-gent");
    add_account(dir.path(), "cas", "cas", "clb-brugge");
    let mut server = Binary::start(&program(), dir.path(), 0, &[]);
    let mut ann = login(&server, "ann").await;
    let starts = chrono::Utc::now() + chrono::Duration::minutes(5);
    let planned = ask(
        &mut ann,
        json!({"type": "plan_appointment", "desk": "blended", "booking": {
            "client_name": "Lotte Peeters", "starts_at": starts, "length_minutes": 30}}),
    )
    .await;
    let token = planned["token"].as_str().unwrap().to_owned();
    let id = planned["appointment"]["id"].clone();
    let trajectory = planned["appointment"]["trajectory"].clone();
    let online = ask(&mut ann, json!({"type": "online", "desk": "blended"})).await;
    assert_eq!(online["type"], "ok", "{online}");
    // The client joins (the waiting room is open), gets Ann at once, and says something.
    let mut client = Client::connect(&server.ws(), Some(&server.origin()))
        .await
        .unwrap();
    let welcome = ask(
        &mut client,
        json!({"type": "arrive", "desk": "blended", "appointment": token}),
    )
    .await;
    assert_eq!(welcome["type"], "welcome", "{welcome}");
    let sent = ask(
        &mut client,
        json!({"type": "send", "id": "c1", "text": "Ben ik hier juist?"}),
    )
    .await;
    assert_eq!(sent["type"], "ack", "{sent}");

    let booking = json!({"client_name": "X", "starts_at": starts, "length_minutes": 30});
    for outsider in ["cas", "dirk"] {
        let mut c = login(&server, outsider).await;
        for frame in [
            json!({"type": "trajectory", "trajectory": trajectory}),
            json!({"type": "cancel_appointment", "appointment": id}),
            json!({"type": "new_appointment_link", "appointment": id}),
            json!({"type": "reschedule_appointment", "appointment": id, "booking": booking}),
        ] {
            let answer = ask(&mut c, frame.clone()).await;
            assert_eq!(answer["type"], "error", "{outsider}: {frame} → {answer}");
            assert!(
                ["forbidden", "invalid"].contains(&answer["code"].as_str().unwrap()),
                "{outsider}: {frame} → {answer}"
            );
        }
        let list = ask(&mut c, json!({"type": "appointments", "which": "coming"})).await;
        assert_eq!(
            list["appointments"],
            json!([]),
            "{outsider} sees none of them"
        );
    }
    // Its own counsellor reads it, the client's words included.
    let read = ask(
        &mut ann,
        json!({"type": "trajectory", "trajectory": trajectory}),
    )
    .await;
    assert_eq!(read["type"], "trajectory", "{read}");
    assert!(read.to_string().contains("Ben ik hier juist?"), "{read}");
    let (code, _) = server.terminate();
    assert_eq!(code, Some(0));
    assert!(
        !server.logs().contains("Ben ik hier juist?"),
        "no message text in the logs"
    );
}

/// A session held `ago` in the past with one message from the client, stored the way the
/// server stores it: the chat, its message, the appointment holding it. Gives the
/// trajectory.
async fn held_session(
    store: &SqlStore,
    ago: chrono::Duration,
    client: &str,
    text: &str,
) -> TrajectoryId {
    let starts = chrono::Utc::now() - ago;
    let conversation = ConversationId::random();
    store
        .put_conversation(&ConversationMeta {
            id: conversation,
            desk: DeskId::new("blended"),
            pseudonym: None,
            profile: ClientProfile {
                nickname: Some(client.into()),
                ..ClientProfile::default()
            },
            state: ConversationState::Ended,
            counsellor: Some(StaffId::new("ann")),
            arrived_at: starts,
            started_at: Some(starts),
            ended_at: Some(starts + chrono::Duration::minutes(40)),
            end_reason: Some(EndReason::ClientLeft),
            resume_token_hash: "0".repeat(64),
        })
        .await
        .unwrap();
    store
        .append(&LoggedEvent {
            conversation,
            seq: 1,
            at: starts,
            body: EventBody::Message {
                from: Role::Client,
                author: client.into(),
                text: text.into(),
                client_msg_id: ClientMsgId::new("m1"),
            },
        })
        .await
        .unwrap();
    let trajectory = TrajectoryId::random();
    store
        .put_appointment(&Appointment {
            id: AppointmentId::random(),
            desk: DeskId::new("blended"),
            centre: CentreId::new("clb-gent"),
            trajectory,
            counsellor: StaffId::new("ann"),
            stand_in: None,
            client_name: client.into(),
            note: Some("eerste gesprek".into()),
            starts_at: starts,
            length_minutes: 45,
            status: AppointmentStatus::Planned,
            token_hash: format!("hash-{trajectory}"),
            conversations: vec![conversation],
            created_at: starts,
        })
        .await
        .unwrap();
    trajectory
}

/// Blended chat's transcripts belong to the client file, with a retention of their own:
/// the server empties a trajectory `storage.client_file_months` after its last session
/// (the transcripts, the client's name, the notes), and the anonymous desk's 30 days do
/// not touch a session of 40 days ago.
#[tokio::test]
async fn a_client_file_is_emptied_months_after_its_last_session_and_not_before() {
    let dir = tempfile::tempdir().unwrap();
    add_account(dir.path(), "ann", "Ann", "clb-gent");
    let db = dir.path().join("data/blended-chat/blended-chat.db");
    let store = SqlStore::connect(&format!("sqlite://{}", db.display()), SqlOptions::new())
        .await
        .unwrap();
    let old = held_session(
        &store,
        chrono::Duration::days(400),
        "Lotte Peeters",
        "Ik twijfel over de richting.",
    )
    .await;
    let recent = held_session(
        &store,
        chrono::Duration::days(40),
        "Jonas Maes",
        "Het gaat al beter met mij.",
    )
    .await;
    store.close().await;

    let mut server = Binary::start(
        &program(),
        dir.path(),
        0,
        &[("CLBCHAT_STORAGE__CLIENT_FILE_MONTHS", "12")],
    );
    let line = server.wait_logged("client file purge");
    assert!(line.contains("trajectories=1"), "{line}");
    let mut ann = login(&server, "ann").await;
    let emptied = ask(&mut ann, json!({"type": "trajectory", "trajectory": old})).await;
    assert_eq!(emptied["type"], "trajectory", "{emptied}");
    let session = &emptied["sessions"][0];
    assert_eq!(session["appointment"]["client_name"], "", "{emptied}");
    assert_eq!(session["appointment"]["note"], Value::Null, "{emptied}");
    assert_eq!(session["log"], json!([]), "the transcript is gone");
    let kept = ask(
        &mut ann,
        json!({"type": "trajectory", "trajectory": recent}),
    )
    .await;
    let session = &kept["sessions"][0];
    assert_eq!(
        session["appointment"]["client_name"], "Jonas Maes",
        "{kept}"
    );
    assert!(
        kept.to_string().contains("Het gaat al beter met mij."),
        "a file within its months keeps its transcript, past the desk's 30 days: {kept}"
    );
    drop(ann);
    let (code, _) = server.terminate();
    assert_eq!(code, Some(0), "{}", server.logs());
    let logs = server.logs();
    for secret in ["Lotte", "Jonas", "richting", "beter met mij"] {
        assert!(!logs.contains(secret), "`{secret}` in the logs:\n{logs}");
    }
}
