//! Sampling a chat's plan: who comes, about what, how long, how it ends, as the annual
//! report's shares say.

use super::*;

pub(super) fn pick<T: Copy>(rng: &mut StdRng, weighted: &[(T, f64)]) -> T {
    let total: f64 = weighted.iter().map(|(_, w)| w).sum();
    let mut x = rng.gen::<f64>() * total;
    for (v, w) in weighted {
        if x < *w {
            return *v;
        }
        x -= w;
    }
    weighted[weighted.len() - 1].0
}

pub(super) fn exponential(rng: &mut StdRng, mean: f64) -> f64 {
    -mean * (1.0 - rng.gen::<f64>()).ln()
}

pub(super) fn normal(rng: &mut StdRng, mean: f64, sd: f64) -> f64 {
    let u1: f64 = 1.0 - rng.gen::<f64>();
    let u2: f64 = rng.gen::<f64>();
    mean + sd * (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// The students' topics with the published counts (top 10) and smaller others.
pub(super) const STUDENT_TOPICS: &[(&str, f64)] = &[
    ("olb.study_choice", 1014.0),
    ("psf.family", 708.0),
    ("psf.in_love", 456.0),
    ("pgz.sexuality", 426.0),
    ("psf.relationship_skills", 411.0),
    ("psf.bullying", 373.0),
    ("psf.suicidal_thoughts", 351.0),
    ("psf.depression", 323.0),
    ("ls.study_method", 297.0),
    ("psf.self_harm", 247.0),
    ("psf.anxiety", 200.0),
    ("ls.motivation", 150.0),
    ("pgz.eating", 120.0),
    ("psf.gender_diversity", 90.0),
    ("pgz.physical_health", 80.0),
    ("psf.covid_related", 60.0),
    ("pgz.substances", 50.0),
];

/// The parents' topics with the published counts.
pub(super) const PARENT_TOPICS: &[(&str, f64)] = &[
    ("olb.study_choice", 332.0),
    ("pgz.covid_medical", 221.0),
    ("ls.learning_difficulties", 104.0),
    ("psf.family", 81.0),
    ("pgz.vaccination_covid", 51.0),
    ("pgz.vaccination", 37.0),
    ("psf.rule_breaking", 35.0),
    ("psf.covid_related", 34.0),
    ("pgz.contact_moment", 32.0),
    ("ls.motivation", 32.0),
    ("olb.school_change", 25.0),
    ("psf.bullying", 20.0),
];

/// The published result shares (students, parents), besides "broken off", which follows
/// from how the chat ended.
pub(super) const RESULT_SHARES: &[(ChatResult, f64, f64)] = &[
    (ChatResult::EmotionalSupport, 0.3384, 0.1020),
    (ChatResult::InformationAdvice, 0.4177, 0.4606),
    (ChatResult::ReferredToClb, 0.1524, 0.4286),
    (ChatResult::ReferredToSchoolCare, 0.1126, 0.1093),
    (ChatResult::ReferredToNetwork, 0.0975, 0.0671),
];

/// Each result is drawn with its share times this scale, and a chat left without any
/// result (the registration needs one) gets one drawn by share: with these scales the
/// shares come out as published (solved numerically for the shares above and the
/// broken-off rates of 21.93% and 10.42%).
pub(super) const STUDENT_RESULT_SCALE: f64 = 0.719;
pub(super) const PARENT_RESULT_SCALE: f64 = 0.705;

/// How clients found the chat (the published proportions, roughly).
pub(super) const FOUND_VIA: &[(FoundVia, f64)] = &[
    (FoundVia::Smartschool, 2300.0),
    (FoundVia::ClbWebsite, 1200.0),
    (FoundVia::SchoolWebsite, 600.0),
    (FoundVia::OtherChatLine, 1900.0),
    (FoundVia::SocialMedia, 500.0),
    (FoundVia::PostersFlyers, 200.0),
    (FoundVia::Other, 300.0),
];

/// Stars with a mean of about 4.24 (students) and 4.52 (parents).
pub(super) const STARS_STUDENTS: &[(u8, f64)] =
    &[(5, 0.55), (4, 0.25), (3, 0.12), (2, 0.04), (1, 0.04)];
pub(super) const STARS_PARENTS: &[(u8, f64)] =
    &[(5, 0.66), (4, 0.24), (3, 0.06), (2, 0.02), (1, 0.02)];

/// Busier and quieter months (September and the November COVID wave busier, summer
/// quiet), as weights on the arrival rate per open minute.
pub(super) fn month_weight(month: u32) -> f64 {
    match month {
        9 => 1.15,
        10 => 1.0,
        11 => 1.3,
        12 => 0.85,
        1..=3 => 1.0,
        4 => 0.8,
        5 => 0.95,
        6 => 0.8,
        7 => 0.45,
        _ => 0.55,
    }
}

pub(super) fn plan(
    rng: &mut StdRng,
    parent_share: f64,
    mean_minutes: f64,
    shared: &Shared,
) -> Plan {
    let client_type = if rng.gen_bool(parent_share) {
        ClientType::Parent
    } else {
        ClientType::Student
    };
    let student = client_type == ClientType::Student;
    let age = if student {
        normal(rng, 14.5, 1.9).round().clamp(10.0, 20.0)
    } else {
        normal(rng, 11.0, 3.5).round().clamp(3.0, 18.0)
    } as u8;
    let gender = student.then(|| {
        pick(
            rng,
            &[(Gender::F, 0.743), (Gender::M, 0.217), (Gender::X, 0.04)],
        )
    });
    // Erlang(3): mean `mean_minutes`, now and then past the 45-minute limit.
    let minutes: f64 = (0..3).map(|_| exponential(rng, mean_minutes / 3.0)).sum();
    let length = Duration::from_secs_f64((minutes * 60.0).max(60.0));
    let broken = if student { 0.2193 } else { 0.1042 };
    let ending = if rng.gen_bool(broken) {
        Ending::BrokenOff
    } else if rng.gen_bool(0.5) {
        Ending::ClientLeaves
    } else {
        Ending::CounsellorEnds
    };
    let fake_call = rng.gen_bool(0.052);
    let returning = {
        let pool = lock(&shared.returning);
        // Fake callers mostly come back; others about one in five.
        let fakes: Vec<&String> = pool.iter().filter(|(_, f)| *f).map(|(t, _)| t).collect();
        if fake_call && !fakes.is_empty() && rng.gen_bool(0.6) {
            Some(fakes[rng.gen_range(0..fakes.len())].clone())
        } else if !pool.is_empty() && rng.gen_bool(0.2) {
            Some(pool[rng.gen_range(0..pool.len())].0.clone())
        } else {
            None
        }
    };
    let topics_of = if student {
        STUDENT_TOPICS
    } else {
        PARENT_TOPICS
    };
    let mut topics = vec![pick(rng, topics_of).to_owned()];
    if rng.gen_bool(0.3) {
        let second = pick(rng, topics_of).to_owned();
        if !topics.contains(&second) {
            topics.push(second);
        }
    }
    let share = |s: f64, p: f64| if student { s } else { p };
    let scale = share(STUDENT_RESULT_SCALE, PARENT_RESULT_SCALE);
    let mut results: Vec<ChatResult> = RESULT_SHARES
        .iter()
        .filter(|(_, s, p)| rng.gen_bool(scale * share(*s, *p)))
        .map(|(r, _, _)| *r)
        .collect();
    if ending == Ending::BrokenOff {
        results.push(ChatResult::BrokenOff);
    }
    if results.is_empty() {
        let weighted: Vec<(ChatResult, f64)> = RESULT_SHARES
            .iter()
            .map(|(r, s, p)| (*r, share(*s, *p)))
            .collect();
        results.push(pick(rng, &weighted));
    }
    let found_via = if returning.is_some() {
        Some(FoundVia::EarlierChat)
    } else {
        rng.gen_bool(0.85).then(|| pick(rng, FOUND_VIA))
    };
    let stars = (ending != Ending::BrokenOff && rng.gen_bool(0.6)).then(|| {
        pick(
            rng,
            if student {
                STARS_STUDENTS
            } else {
                STARS_PARENTS
            },
        )
    });
    Plan {
        client_type,
        age,
        gender,
        health_question: rng.gen_bool(0.08),
        patience: Duration::from_secs_f64(exponential(rng, 15.0 * 60.0).max(60.0)),
        length,
        ending,
        topics: if fake_call {
            vec!["psf.in_love".into()]
        } else {
            topics
        },
        results,
        found_via,
        fake_call,
        stars,
        token: returning,
    }
}
