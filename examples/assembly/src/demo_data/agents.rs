//! The agents: a visitor and a counsellor, each a task that plays its plan through the
//! real engine.

use super::*;

pub(super) const VISITOR_LINES: &[&str] = &[
    "Hallo, ik heb een vraag.",
    "Ik weet niet goed hoe ik het moet zeggen.",
    "Het gaat al een tijdje niet zo goed.",
    "Ja, dat klopt.",
    "Ik heb er nog niemand over verteld.",
    "Wat zou jij doen?",
    "Oké, dat helpt.",
    "Dank je.",
];
pub(super) const COUNSELLOR_LINES: &[&str] = &[
    "Dag, fijn dat je er bent. Waarover wil je chatten?",
    "Dat begrijp ik. Vertel eens wat meer?",
    "Wat zou je zelf graag willen?",
    "Dat is een goede stap.",
];

/// How often a visitor writes: often enough that the engine never finds them idle.
pub(super) const VISITOR_PACE: Duration = Duration::from_secs(150);

pub(super) fn nickname(n: u64) -> String {
    format!("Bezoeker {n}")
}

/// Waits until `deadline` while reading events; returns `false` when the events end.
pub(super) async fn read_until(
    v: &mut VisitorSession,
    deadline: tokio::time::Instant,
) -> Option<bool> {
    loop {
        tokio::select! {
            () = tokio::time::sleep_until(deadline) => return Some(false),
            e = v.events.next() => match e {
                None => return None,
                Some(ServerEvent::Log(LoggedEvent { body: EventBody::Ended { .. }, .. })) => return Some(true),
                Some(_) => {}
            }
        }
    }
}

pub(super) async fn visitor(engine: Engine, shared: Arc<Shared>, desk: DeskId, n: u64, plan: Plan) {
    shared.arrivals.fetch_add(1, Ordering::Relaxed);
    let name = nickname(n);
    let profile = ClientProfile {
        client_type: Some(plan.client_type),
        nickname: Some(name.clone()),
        age: Some(plan.age),
        gender: plan.gender,
        health_question: plan.health_question,
    };
    lock(&shared.plans).insert(name.clone(), plan.clone());
    let arrival = Arrival {
        visitor_token: plan.token.clone(),
        profile,
        appointment: None,
    };
    let mut v = match engine.arrive(&desk, arrival).await {
        Ok(v) => v,
        Err(_) => {
            shared.refused.fetch_add(1, Ordering::Relaxed);
            lock(&shared.plans).remove(&name);
            return;
        }
    };
    if let Some(token) = v.visitor_token.clone() {
        let mut pool = lock(&shared.returning);
        if pool.len() < 2_000 {
            pool.push((token, plan.fake_call));
        }
    }
    // The queue: until a counsellor joins, the desk closes, or patience runs out.
    let give_up = tokio::time::Instant::now() + plan.patience;
    loop {
        tokio::select! {
            () = tokio::time::sleep_until(give_up) => {
                let _ = v.handle.leave().await;
                shared.left_queue.fetch_add(1, Ordering::Relaxed);
                return;
            }
            e = v.events.next() => match e {
                None => return,
                Some(ServerEvent::Log(LoggedEvent { body: EventBody::Joined { role: Role::Counsellor, .. }, .. })) => break,
                Some(ServerEvent::Log(LoggedEvent { body: EventBody::Ended { .. }, .. })) => return,
                Some(_) => {}
            }
        }
    }
    // The chat.
    let started = tokio::time::Instant::now();
    let end = started + plan.length;
    let mut k = 0u32;
    let ended_by_engine = loop {
        let next = (tokio::time::Instant::now() + VISITOR_PACE).min(end);
        match read_until(&mut v, next).await {
            None => return,
            Some(true) => break true,
            Some(false) => {}
        }
        if tokio::time::Instant::now() >= end {
            break false;
        }
        k += 1;
        let line = VISITOR_LINES[k as usize % VISITOR_LINES.len()];
        if v.handle
            .send(ClientMsgId::new(format!("m{k}")), line)
            .await
            .is_err()
        {
            break true;
        }
    };
    if !ended_by_engine {
        match plan.ending {
            Ending::BrokenOff => {
                // The phone's battery is empty: the connection drops and never comes back.
                drop(v);
                return;
            }
            Ending::ClientLeaves => {
                let _ = v.handle.leave().await;
            }
            Ending::CounsellorEnds => {
                // Keep writing now and then until the counsellor closes (the engine ends it
                // at the limit at the latest).
                loop {
                    let next = tokio::time::Instant::now() + VISITOR_PACE;
                    match read_until(&mut v, next).await {
                        None => return,
                        Some(true) => break,
                        Some(false) => {}
                    }
                    k += 1;
                    if v.handle
                        .send(ClientMsgId::new(format!("m{k}")), "Ben je er nog?")
                        .await
                        .is_err()
                    {
                        break;
                    }
                }
            }
        }
    }
    if let Some(stars) = plan.stars {
        if v.handle.rate(stars, None).await.is_ok() {
            if let Some(r) = lock(&shared.chats).get_mut(&v.conversation) {
                r.stars = Some(stars);
            }
        }
    }
}

/// A counsellor's shift: online from now until `until`, then finishing what runs.
pub(super) async fn counsellor(
    mut s: StaffSession,
    shared: Arc<Shared>,
    desk: DeskId,
    until: DateTime<Utc>,
    shift_ends: tokio::time::Instant,
) {
    if s.handle.go_online(&desk, Some(until)).await.is_err() {
        return;
    }
    let mut online = true;
    let mut running: HashMap<ConversationId, String> = HashMap::new();
    let mut due = 0usize;
    let mut k = 0u64;
    let (end_tx, mut end_rx) = tokio::sync::mpsc::channel::<ConversationId>(16);
    loop {
        if !online && running.is_empty() && due == 0 {
            return;
        }
        tokio::select! {
            () = tokio::time::sleep_until(shift_ends), if online => {
                let _ = s.handle.go_offline(&desk).await;
                online = false;
            }
            Some(conv) = end_rx.recv() => {
                if running.contains_key(&conv) {
                    let _ = s.handle.end(conv).await;
                }
            }
            e = s.events.next() => {
                let Some(e) = e else { return };
                match e {
                    ServerEvent::ChatAssigned { conversation, profile, .. } => {
                        let name = profile.nickname.unwrap_or_default();
                        let plan = lock(&shared.plans).get(&name).cloned();
                        lock(&shared.chats).insert(conversation, ChatRecord {
                            desk: desk.clone(),
                            conversation,
                            started_at: shared.clock.now(), // the log's `joined` follows
                            ended_at: None,
                            registration: None,
                            stars: None,
                        });
                        running.insert(conversation, name);
                        k += 1;
                        let _ = s.handle.send(conversation, ClientMsgId::new(format!("c{k}")), COUNSELLOR_LINES[0]).await;
                        if let Some(p) = plan.filter(|p| p.ending == Ending::CounsellorEnds) {
                            let tx = end_tx.clone();
                            tokio::spawn(async move {
                                tokio::time::sleep(p.length).await;
                                let _ = tx.send(conversation).await;
                            });
                        }
                    }
                    ServerEvent::Log(l) => match &l.body {
                        EventBody::Joined { role: Role::Counsellor, .. } => {
                            if let Some(r) = lock(&shared.chats).get_mut(&l.conversation) {
                                r.started_at = l.at;
                            }
                        }
                        EventBody::Message { from: Role::Client, .. } if running.contains_key(&l.conversation) => {
                            k += 1;
                            let line = COUNSELLOR_LINES[1 + (k as usize % (COUNSELLOR_LINES.len() - 1))];
                            let _ = s.handle.send(l.conversation, ClientMsgId::new(format!("c{k}")), line).await;
                        }
                        EventBody::Ended { .. } => {
                            if let Some(r) = lock(&shared.chats).get_mut(&l.conversation) {
                                r.ended_at = Some(l.at);
                            }
                        }
                        _ => {}
                    },
                    ServerEvent::RegistrationDue { conversation } => {
                        due += 1;
                        let name = running.remove(&conversation).unwrap_or_default();
                        let plan = lock(&shared.plans).remove(&name);
                        if let Some(p) = plan {
                            let form = RegistrationForm {
                                client_type: p.client_type,
                                age: Some(p.age),
                                gender: p.gender,
                                topics: p.topics.clone(),
                                results: p.results.clone(),
                                found_via: p.found_via,
                                fake_call: p.fake_call,
                            };
                            if s.handle.register(conversation, form.clone()).await.is_ok() {
                                if let Some(r) = lock(&shared.chats).get_mut(&conversation) {
                                    r.registration = Some(form);
                                }
                            }
                        }
                        due -= 1;
                    }
                    _ => {}
                }
            }
        }
    }
}
