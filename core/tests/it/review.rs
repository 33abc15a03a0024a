//! Who may read which transcript, for which purpose: the one rule of
//! `clbchat_core::review`, tried as a matrix of every kind of reader against every purpose,
//! for an anonymous chat and for a blended chat's trajectory.

use clbchat_core::account::{StaffIdentity, StaffRole};
use clbchat_core::event::Discipline;
use clbchat_core::ids::{CentreId, DeskId, StaffId};
use clbchat_core::review::{may_read, ChatFacts, ReadPurpose};
use clbchat_core::Error;

fn person(id: &str, role: StaffRole, desks: &[&str], centre: Option<&str>) -> StaffIdentity {
    StaffIdentity {
        id: StaffId::new(id),
        alias: id.into(),
        role,
        discipline: Discipline::PsychoPedagogical,
        desks: desks.iter().map(|d| DeskId::new(*d)).collect(),
        capacity: 2,
        centre: centre.map(CentreId::new),
    }
}

/// The readers: (name, who).
fn readers() -> Vec<(&'static str, StaffIdentity)> {
    use StaffRole::*;
    vec![
        (
            "the chat's counsellor",
            person("ann", Counsellor, &["clb-gent"], Some("clb-gent")),
        ),
        (
            "a colleague of the desk",
            person("bob", Counsellor, &["clb-gent"], Some("clb-gent")),
        ),
        (
            "a coordinator of the desk",
            person("cora", Coordinator, &["clb-gent"], Some("clb-gent")),
        ),
        (
            "a coordinator of another desk",
            person("dirk", Coordinator, &["clb-genk"], Some("clb-genk")),
        ),
        (
            "a counsellor of another centre",
            person("eva", Counsellor, &["clb-genk"], Some("clb-genk")),
        ),
        (
            "the sector's administrator",
            person("fien", Administrator, &[], None),
        ),
        (
            "a session's stand-in",
            person("gert", Counsellor, &["blended"], Some("clb-gent")),
        ),
        (
            "a session's holder at another centre",
            person("hans", Counsellor, &["blended"], Some("clb-genk")),
        ),
    ]
}

/// Who of [`readers`] may read, for each purpose: an anonymous chat of desk `clb-gent`
/// held by Ann.
const ANONYMOUS: &[(ReadPurpose, &[&str])] = &[
    (ReadPurpose::ChatScan, &["a coordinator of the desk"]),
    (ReadPurpose::FlagReview, &["a coordinator of the desk"]),
    (ReadPurpose::Intervision, &["a coordinator of the desk"]),
    (ReadPurpose::Observation, &["a coordinator of the desk"]),
    (ReadPurpose::CalledIn, &["a coordinator of the desk"]),
    (
        ReadPurpose::Feedback,
        &["the chat's counsellor", "a coordinator of the desk"],
    ),
    (ReadPurpose::Trajectory, &[]),
];

/// The same for a blended chat's trajectory of centre `clb-gent`, whose sessions Ann held
/// with Gert standing in (Hans, of another centre, is named on one by mistake).
const TRAJECTORY: &[(ReadPurpose, &[&str])] = &[(
    ReadPurpose::Trajectory,
    &["the chat's counsellor", "a session's stand-in"],
)];

fn check(chat: &ChatFacts, table: &[(ReadPurpose, &[&str])]) {
    let mut wrong = Vec::new();
    for (purpose, allowed) in table {
        for (name, reader) in readers() {
            let got = may_read(&reader, chat, *purpose);
            let want = allowed.contains(&name);
            match (&got, want) {
                (Ok(()), true) => {}
                (Err(Error::Forbidden(why)), false) => {
                    assert!(!why.is_empty(), "a refusal says why");
                }
                _ => wrong.push(format!("{name} / {}: {got:?}", purpose.as_str())),
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "the rule disagrees:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn who_reads_an_anonymous_chat_for_which_purpose() {
    let chat = ChatFacts {
        desk: DeskId::new("clb-gent"),
        counsellor: Some(StaffId::new("ann")),
        trajectory: None,
    };
    check(&chat, ANONYMOUS);
    // Every purpose is in the table.
    for p in ReadPurpose::ALL {
        assert!(ANONYMOUS.iter().any(|(q, _)| *q == p), "{p:?}");
    }
}

#[test]
fn who_reads_a_blended_trajectory() {
    let chat = ChatFacts {
        desk: DeskId::new("blended"),
        counsellor: Some(StaffId::new("ann")),
        trajectory: Some((
            CentreId::new("clb-gent"),
            vec![
                StaffId::new("ann"),
                StaffId::new("gert"),
                StaffId::new("hans"),
            ],
        )),
    };
    check(&chat, TRAJECTORY);
}

#[test]
fn the_audit_names_the_purpose_and_reads_it_back() {
    for p in ReadPurpose::ALL {
        assert_eq!(ReadPurpose::parse(&p.describe(None)), (Some(p), None));
        assert_eq!(
            ReadPurpose::parse(&p.describe(Some("frequent visitor: twice"))),
            (Some(p), Some("frequent visitor: twice"))
        );
    }
    // A row from before purposes had names keeps its words.
    assert_eq!(
        ReadPurpose::parse("chatscan voor een nieuwe medewerker"),
        (None, Some("chatscan voor een nieuwe medewerker"))
    );
}

mod scans {
    use chrono::Duration;
    use clbchat_core::event::Discipline;
    use clbchat_core::ids::{ClientMsgId, StaffId};
    use clbchat_core::review::{AuditRequest, ReadPurpose, ScanRequest};
    use clbchat_core::store::Store;
    use clbchat_core::Error;

    use crate::support::{brussels, chat_with, open_world};

    /// A chat scan draws only ended chats with text, of the counsellor asked for, within the
    /// period; each pick then reads (audited) for `chat_scan`; bad requests and readers who
    /// may not are refused in words.
    #[tokio::test(start_paused = true)]
    async fn a_scan_draws_ended_chats_with_text_and_each_is_read_audited() {
        let world = open_world().await;
        let now = brussels(2021, 10, 13, 15, 0);
        let mut ann = world.counsellor("ann", Discipline::PsychoPedagogical).await;
        let student = chat_with(&world, &mut ann).await;
        let anns = student.conversation;
        student
            .handle
            .send(ClientMsgId::new("s1"), "Ik twijfel over mijn studiekeuze")
            .await
            .unwrap();
        student.handle.leave().await.unwrap();
        ann.handle.go_offline(&world.desk).await.unwrap();
        let mut bob = world.counsellor("bob", Discipline::SocialWork).await;
        let student = chat_with(&world, &mut bob).await;
        let bobs = student.conversation;
        student
            .handle
            .send(ClientMsgId::new("s2"), "Thuis is het moeilijk")
            .await
            .unwrap();
        student.handle.leave().await.unwrap();
        // A chat that ended before anyone said a word has nothing to read.
        bob.handle.go_offline(&world.desk).await.unwrap();
        let silent = world.student().await;
        silent.handle.leave().await.unwrap();
        let cora = world.coordinator("cora").await;

        let request = |counsellor: Option<&str>, count| ScanRequest {
            desk: world.desk.clone(),
            counsellor: counsellor.map(StaffId::new),
            from: now - Duration::hours(1),
            to: now + Duration::hours(1),
            count,
        };
        let of_ann = cora
            .handle
            .draw_scan(&request(Some("ann"), 5))
            .await
            .unwrap();
        assert_eq!(
            of_ann.iter().map(|p| p.conversation).collect::<Vec<_>>(),
            [anns],
            "only Ann's chat"
        );
        let all = cora.handle.draw_scan(&request(None, 5)).await.unwrap();
        let mut drawn: Vec<_> = all.iter().map(|p| p.conversation).collect();
        drawn.sort();
        let mut want = vec![anns, bobs];
        want.sort();
        assert_eq!(drawn, want, "fewer than asked: the two chats with text");
        let one = cora.handle.draw_scan(&request(None, 1)).await.unwrap();
        assert_eq!(one.len(), 1);
        let later = ScanRequest {
            from: now + Duration::hours(1),
            to: now + Duration::hours(2),
            ..request(None, 5)
        };
        assert!(cora.handle.draw_scan(&later).await.unwrap().is_empty());

        for (bad, why) in [
            (request(None, 0), "count"),
            (request(None, 21), "count"),
            (
                ScanRequest {
                    to: now - Duration::hours(2),
                    ..request(None, 5)
                },
                "period",
            ),
        ] {
            let e = cora.handle.draw_scan(&bad).await.unwrap_err();
            assert!(
                matches!(&e, Error::Invalid(m) if m.contains(why)),
                "{why}: {e:?}"
            );
        }
        let e = ann.handle.draw_scan(&request(None, 5)).await.unwrap_err();
        assert!(matches!(e, Error::Forbidden(_)), "{e:?}");

        // Reading a pick: audited as a chat scan.
        let log = cora
            .handle
            .read_transcript(anns, ReadPurpose::ChatScan, Some("nieuwe collega"))
            .await
            .unwrap();
        assert!(!log.is_empty());
        let reads = world.store.transcript_reads(anns).await.unwrap();
        assert_eq!(reads.len(), 1);
        assert_eq!(reads[0].purpose, "chat_scan: nieuwe collega");
        assert!(world.store.transcript_reads(bobs).await.unwrap().is_empty());

        // The read audit shows it: who, which chat, whose, why; a counsellor sees none.
        let audit = AuditRequest {
            desk: world.desk.clone(),
            from: now - Duration::hours(1),
            to: now + Duration::days(1),
            reader: None,
            purpose: Some(ReadPurpose::ChatScan),
        };
        let seen = cora.handle.read_audit(&audit).await.unwrap();
        assert!(!seen.truncated);
        assert_eq!(
            seen.entries
                .iter()
                .map(|e| (
                    e.reader.0.as_str(),
                    e.conversation,
                    e.counsellor.as_ref().map(|c| c.0.as_str()),
                    e.purpose,
                    e.note.as_deref()
                ))
                .collect::<Vec<_>>(),
            [(
                "cora",
                anns,
                Some("ann"),
                Some(ReadPurpose::ChatScan),
                Some("nieuwe collega")
            )]
        );
        let none = AuditRequest {
            purpose: Some(ReadPurpose::FlagReview),
            ..audit.clone()
        };
        assert!(cora
            .handle
            .read_audit(&none)
            .await
            .unwrap()
            .entries
            .is_empty());
        let e = ann.handle.read_audit(&audit).await.unwrap_err();
        assert!(matches!(e, Error::Forbidden(_)), "{e:?}");
        let backwards = AuditRequest {
            to: now - Duration::hours(2),
            ..audit
        };
        let e = cora.handle.read_audit(&backwards).await.unwrap_err();
        assert!(matches!(e, Error::Invalid(_)), "{e:?}");
    }
}

mod intervision {
    use chrono::Duration;
    use clbchat_core::event::{Discipline, Role};
    use clbchat_core::ids::ClientMsgId;
    use clbchat_core::store::Store;
    use clbchat_core::Error;

    use crate::support::{brussels, chat_with, open_world};

    /// A chat exported for intervision: only its messages, masked (the nickname and the
    /// counsellor's alias too), minutes instead of hours, what the masking cannot promise,
    /// the read audited; for a coordinator of the desk only; a purged chat has nothing to
    /// export, and says so.
    #[tokio::test(start_paused = true)]
    async fn an_exported_chat_is_masked_audited_and_refused_once_purged() {
        let world = open_world().await;
        let mut ann = world.counsellor("ann", Discipline::PsychoPedagogical).await;
        let student = chat_with(&world, &mut ann).await;
        let conv = student.conversation;
        student
            .handle
            .send(
                ClientMsgId::new("s1"),
                "Ik heet Lotte, ik zit op het Sint-Jozefscollege in Aalst. Bel me op 0470 12 34 56.",
            )
            .await
            .unwrap();
        tokio::time::sleep(std::time::Duration::from_secs(180)).await;
        ann.handle
            .send(
                conv,
                ClientMsgId::new("a1"),
                "Dag Lotte, ik ben ann. Vertel maar.",
            )
            .await
            .unwrap();
        student.handle.leave().await.unwrap();
        let cora = world.coordinator("cora").await;

        let export = cora.handle.intervision_export(conv).await.unwrap();
        let lines: Vec<(u32, Role, &str)> = export
            .lines
            .iter()
            .map(|l| (l.minute, l.from, l.text.as_str()))
            .collect();
        assert_eq!(
            lines,
            [
                (
                    0,
                    Role::Client,
                    "Ik heet [naam], ik zit op het [school] in [plaats]. Bel me op [telefoonnummer]."
                ),
                (3, Role::Counsellor, "Dag [naam], ik ben [naam]. Vertel maar."),
            ]
        );
        assert!(export.limits_nl.contains("niet volledig"));
        let reads = world.store.transcript_reads(conv).await.unwrap();
        assert_eq!(
            reads.iter().map(|r| r.purpose.as_str()).collect::<Vec<_>>(),
            ["intervision"]
        );
        let e = ann.handle.intervision_export(conv).await.unwrap_err();
        assert!(matches!(e, Error::Forbidden(_)), "{e:?}");

        world
            .store
            .purge_transcripts(brussels(2021, 10, 13, 15, 0) + Duration::days(1))
            .await
            .unwrap();
        let e = cora.handle.intervision_export(conv).await.unwrap_err();
        assert!(
            matches!(&e, Error::InvalidState(m) if m.contains("no text to export")),
            "{e:?}"
        );
    }
}

mod feedback_and_erasure {
    use chrono::Duration;
    use clbchat_core::engine::session::StaffSession;
    use clbchat_core::event::{Discipline, ServerEvent};
    use clbchat_core::ids::{ClientMsgId, ConversationId};
    use clbchat_core::registration::{ChatResult, ClientType, RegistrationForm};
    use clbchat_core::review::{AuditRequest, MAX_FEEDBACK_CHARS};
    use clbchat_core::store::Store;
    use clbchat_core::Error;

    use crate::support::{brussels, chat_with_token, open_world, wait_for, World};

    /// A visitor (with `token`, or a new one) chats with `counsellor`, who is free, says
    /// `text` and leaves; the counsellor registers the chat. Returns the chat and the token.
    async fn chat(
        world: &World,
        counsellor: &mut StaffSession,
        token: Option<String>,
        text: &str,
    ) -> (ConversationId, String) {
        let visitor = chat_with_token(world, counsellor, token.clone()).await;
        let conversation = visitor.conversation;
        let token = token.or(visitor.visitor_token.clone()).expect("a token");
        visitor
            .handle
            .send(ClientMsgId::new("v1"), text)
            .await
            .unwrap();
        visitor.handle.leave().await.unwrap();
        counsellor
            .handle
            .register(
                conversation,
                RegistrationForm {
                    client_type: ClientType::Student,
                    age: Some(15),
                    gender: None,
                    topics: vec!["psf.family".into()],
                    results: vec![ChatResult::EmotionalSupport],
                    found_via: None,
                    fake_call: false,
                },
            )
            .await
            .unwrap();
        (conversation, token)
    }

    /// A counsellor asks for feedback on a chat of theirs; a coordinator of the desk reads
    /// the question and writes the feedback; the counsellor finds it with their chats. A
    /// colleague may not ask, a counsellor may not write, bad text is refused in words, and
    /// once the chat is purged its feedback is gone and none can be written.
    #[tokio::test(start_paused = true)]
    async fn feedback_is_asked_written_and_seen_and_goes_with_the_transcript() {
        let world = open_world().await;
        let mut ann = world.counsellor("ann", Discipline::PsychoPedagogical).await;
        let (conv, _) = chat(&world, &mut ann, None, "Ik twijfel over mijn studiekeuze").await;
        ann.handle.go_offline(&world.desk).await.unwrap();
        let bob = world.counsellor("bob", Discipline::SocialWork).await;
        let cora = world.coordinator("cora").await;

        let e = bob.handle.ask_feedback(conv, None).await.unwrap_err();
        assert!(matches!(e, Error::Forbidden(_)), "{e:?}");
        let asked = ann
            .handle
            .ask_feedback(conv, Some("  Hoe rond ik beter af?  "))
            .await
            .unwrap();
        assert_eq!(asked.question.as_deref(), Some("Hoe rond ik beter af?"));
        let at_desk = cora.handle.feedback_at(&world.desk).await.unwrap();
        assert_eq!(
            at_desk,
            vec![asked.clone()],
            "the coordinator sees the question"
        );
        let e = bob.handle.feedback_at(&world.desk).await.unwrap_err();
        assert!(matches!(e, Error::Forbidden(_)), "{e:?}");

        let e = ann.handle.write_feedback(conv, "Goed!").await.unwrap_err();
        assert!(matches!(e, Error::Forbidden(_)), "{e:?}");
        for (bad, why) in [
            ("   ".to_owned(), "write something"),
            ("a".repeat(MAX_FEEDBACK_CHARS + 1), "at most 4000"),
        ] {
            let e = cora.handle.write_feedback(conv, &bad).await.unwrap_err();
            assert!(matches!(&e, Error::Invalid(m) if m.contains(why)), "{e:?}");
        }
        let written = cora
            .handle
            .write_feedback(conv, "Mooi doorgevraagd. Vat op het einde samen.")
            .await
            .unwrap();
        assert_eq!(written.question, asked.question, "the question stays");

        let mine = ann.handle.my_chats().await.unwrap();
        assert_eq!(mine.len(), 1);
        assert_eq!(mine[0].conversation, conv);
        let fb = mine[0].feedback.as_ref().expect("feedback");
        assert_eq!(
            (
                fb.text.as_deref(),
                fb.written_by.as_ref().map(|s| s.0.as_str())
            ),
            (
                Some("Mooi doorgevraagd. Vat op het einde samen."),
                Some("cora")
            )
        );
        assert!(
            bob.handle.my_chats().await.unwrap().is_empty(),
            "a colleague's list has none of Ann's chats"
        );
        assert!(
            world.store.transcript_reads(conv).await.unwrap().is_empty(),
            "reading feedback reads none of the chat"
        );

        world
            .store
            .purge_transcripts(brussels(2021, 10, 13, 15, 0) + Duration::days(1))
            .await
            .unwrap();
        assert!(ann.handle.my_chats().await.unwrap().is_empty());
        assert!(cora
            .handle
            .feedback_at(&world.desk)
            .await
            .unwrap()
            .is_empty());
        let e = cora
            .handle
            .write_feedback(conv, "Nog iets")
            .await
            .unwrap_err();
        assert!(
            matches!(&e, Error::InvalidState(m) if m.contains("text is gone")),
            "{e:?}"
        );
    }

    /// A visitor asks, in their second chat, that everything about them be erased: after
    /// the chat its counsellor does it. Both their chats lose their text and forget them,
    /// another visitor's chat stays, the audit says who did it and when, and a chat still
    /// going on cannot be erased; a colleague who did not hold the chat may not.
    #[tokio::test(start_paused = true)]
    async fn a_visitor_is_erased_on_request_with_an_audit_row_and_nothing_else() {
        let world = open_world().await;
        let now = brussels(2021, 10, 13, 15, 0);
        let mut ann = world.counsellor("ann", Discipline::PsychoPedagogical).await;
        let (first, token) = chat(&world, &mut ann, None, "Thuis is het moeilijk").await;
        let (second, _) = chat(&world, &mut ann, Some(token.clone()), "Wis alles van mij").await;
        let (other, _) = chat(&world, &mut ann, None, "Ik heb een vraag over school").await;
        ann.handle.go_offline(&world.desk).await.unwrap();
        let mut bob = world.counsellor("bob", Discipline::SocialWork).await;
        let live = world.student().await;
        wait_for(&mut bob.events, |e| match e {
            ServerEvent::ChatAssigned { conversation, .. }
                if *conversation == live.conversation =>
            {
                Some(())
            }
            _ => None,
        })
        .await;

        let e = ann
            .handle
            .erase_on_request(live.conversation)
            .await
            .unwrap_err();
        assert!(matches!(e, Error::Forbidden(_)), "not Ann's chat: {e:?}");
        let e = bob
            .handle
            .erase_on_request(live.conversation)
            .await
            .unwrap_err();
        assert!(
            matches!(&e, Error::InvalidState(m) if m.contains("still going on")),
            "{e:?}"
        );
        let e = bob.handle.erase_on_request(second).await.unwrap_err();
        assert!(matches!(e, Error::Forbidden(_)), "{e:?}");

        ann.handle.erase_on_request(second).await.unwrap();
        for c in [first, second] {
            assert!(world.store.events_after(c, 0).await.unwrap().is_empty());
            let meta = world.store.conversation(c).await.unwrap().unwrap();
            assert_eq!(meta.pseudonym, None);
            assert_eq!(meta.profile.nickname, None);
            assert!(
                world.store.registration(c).await.unwrap().is_some(),
                "the registration stays for the statistics"
            );
        }
        assert_eq!(world.store.events_after(other, 0).await.unwrap().len(), 3);
        let left: Vec<_> = ann
            .handle
            .my_chats()
            .await
            .unwrap()
            .iter()
            .map(|c| c.conversation)
            .collect();
        assert_eq!(
            left,
            vec![other],
            "Ann's list keeps only the other visitor's chat"
        );

        let cora = world.coordinator("cora").await;
        let audit = cora
            .handle
            .read_audit(&AuditRequest {
                desk: world.desk.clone(),
                from: now - Duration::hours(1),
                to: now + Duration::days(1),
                reader: None,
                purpose: None,
            })
            .await
            .unwrap();
        assert_eq!(
            audit
                .erasures
                .iter()
                .map(|e| (e.by.0.as_str(), e.desk.clone()))
                .collect::<Vec<_>>(),
            vec![("ann", world.desk.clone())],
            "the audit says who erased, at which desk; nothing of what"
        );
        assert!(audit.entries.is_empty(), "erasing read no chat");
    }
}
