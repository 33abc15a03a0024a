//! The report's words, Dutch first and English, and how numbers are written in each.

use clbchat_core::event::EndReason;
use clbchat_core::registration::{topic, ChatResult, ClientType, Domain, FoundVia, Gender};

/// The language of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    /// Dutch (the default: the users are Flemish).
    #[default]
    Nl,
    /// English.
    En,
}

impl Lang {
    /// `nl` or `en`.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Nl => "nl",
            Lang::En => "en",
        }
    }

    /// Reads `nl` or `en`.
    pub fn parse(s: &str) -> Option<Lang> {
        match s.trim().to_ascii_lowercase().as_str() {
            "nl" => Some(Lang::Nl),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The Dutch or the English text.
    pub fn pick(self, nl: &'static str, en: &'static str) -> &'static str {
        match self {
            Lang::Nl => nl,
            Lang::En => en,
        }
    }

    /// A whole number with the language's thousands separator (8.813 / 8,813).
    pub fn count(self, n: u64) -> String {
        let digits = n.to_string();
        let sep = self.pick(".", ",");
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                out.push_str(sep);
            }
            out.push(c);
        }
        out
    }

    /// A number with `decimals` decimals and the language's decimal mark (18,5 / 18.5).
    pub fn decimal(self, x: f64, decimals: usize) -> String {
        let s = format!("{x:.decimals$}");
        match self {
            Lang::Nl => s.replace('.', ","),
            Lang::En => s,
        }
    }

    /// What a table shows for a figure that has no value (no data).
    pub(crate) fn none(self) -> &'static str {
        "–"
    }
}

/// A client type, plural, as a table heading.
pub(crate) fn client_type(lang: Lang, t: Option<ClientType>) -> &'static str {
    match t {
        Some(ClientType::Student) => lang.pick("Leerlingen", "Students"),
        Some(ClientType::Parent) => lang.pick("Ouders", "Parents"),
        Some(ClientType::Teacher) => lang.pick("Leerkrachten", "Teachers"),
        Some(ClientType::Other) => lang.pick("Anderen", "Others"),
        None => lang.pick("Onbekend", "Unknown"),
    }
}

/// A stable key of a client type for CSV.
pub(crate) fn client_type_key(t: Option<ClientType>) -> &'static str {
    match t {
        Some(ClientType::Student) => "student",
        Some(ClientType::Parent) => "parent",
        Some(ClientType::Teacher) => "teacher",
        Some(ClientType::Other) => "other",
        None => "unknown",
    }
}

/// A result of the chat.
pub(crate) fn result(lang: Lang, r: ChatResult) -> &'static str {
    match r {
        ChatResult::EmotionalSupport => {
            lang.pick("(emotionele) ondersteuning", "emotional support")
        }
        ChatResult::InformationAdvice => lang.pick("info en advies", "information and advice"),
        ChatResult::ReferredToClb => lang.pick("doorverwezen naar het CLB", "referred to the CLB"),
        ChatResult::ReferredToSchoolCare => lang.pick(
            "doorverwezen naar leerlingenbegeleiding/school",
            "referred to the school's pupil care",
        ),
        ChatResult::ReferredToNetwork => lang.pick(
            "doorverwezen naar het netwerk",
            "referred to the wider network",
        ),
        ChatResult::BrokenOff => lang.pick("sessie (plots) afgebroken", "session broken off"),
    }
}

/// How the client found the chat.
pub(crate) fn found_via(lang: Lang, f: FoundVia) -> &'static str {
    match f {
        FoundVia::Smartschool => "Smartschool",
        FoundVia::ClbWebsite => lang.pick("een CLB-website", "a CLB website"),
        FoundVia::SchoolWebsite => lang.pick("een schoolwebsite", "a school website"),
        FoundVia::EarlierChat => lang.pick("een eerder gesprek", "an earlier chat"),
        FoundVia::OtherChatLine => lang.pick(
            "een andere chatlijn of partnerwebsite",
            "another chat line or partner website",
        ),
        FoundVia::SocialMedia => lang.pick("sociale media", "social media"),
        FoundVia::PostersFlyers => lang.pick("affiches en flyers", "posters and flyers"),
        FoundVia::Other => lang.pick("iets anders", "something else"),
    }
}

/// A self-reported gender.
pub(crate) fn gender(lang: Lang, g: Gender) -> &'static str {
    match g {
        Gender::F => lang.pick("F (meisje)", "F (female)"),
        Gender::M => lang.pick("M (jongen)", "M (male)"),
        Gender::X => "X",
    }
}

/// How a conversation ended.
pub(crate) fn end_reason(lang: Lang, r: EndReason) -> &'static str {
    match r {
        EndReason::ClientLeft => lang.pick("de cliënt sloot af", "the client left"),
        EndReason::CounsellorEnded => {
            lang.pick("de hulpverlener sloot af", "the counsellor ended it")
        }
        EndReason::TimeLimit => lang.pick("de tijdslimiet", "the time limit"),
        EndReason::BrokenOff => lang.pick("verbinding verbroken", "connection lost"),
        EndReason::Abandoned => lang.pick("geen reactie meer", "no more reply"),
        EndReason::AbandonedInQueue => lang.pick("wachtrij verlaten", "left the queue"),
        EndReason::ClosedAtClosingTime => lang.pick("sluitingstijd", "closing time"),
        EndReason::TransferredOut => lang.pick(
            "doorgegeven aan een partnerlijn",
            "handed to a partner line",
        ),
        EndReason::ServerShutdown => lang.pick("server gestopt", "server stopped"),
        EndReason::RefusedQueueFull => lang.pick("wachtrij vol", "queue full"),
        EndReason::RefusedBeforeClosing => {
            lang.pick("te kort voor sluitingstijd", "too close to closing")
        }
    }
}

/// A topic as the annual report writes it: `OLB: Studiekeuze, schoolloopbaan`. An unknown
/// code (from an older taxonomy) is shown as its code.
pub(crate) fn topic_label(lang: Lang, code: &str) -> String {
    match topic(code) {
        Some(t) => {
            let domain = match t.domain {
                Domain::Pgz => "PGZ",
                Domain::Psf => "PSF",
                Domain::Ls => "L&S",
                Domain::Olb => "OLB",
            };
            format!("{domain}: {}", lang.pick(t.nl, t.en))
        }
        None => code.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::Lang;

    #[test]
    fn numbers_are_written_the_way_each_language_writes_them() {
        assert_eq!(Lang::Nl.count(8813), "8.813");
        assert_eq!(Lang::En.count(8813), "8,813");
        assert_eq!(Lang::Nl.count(100), "100");
        assert_eq!(Lang::Nl.count(1_234_567), "1.234.567");
        assert_eq!(Lang::Nl.decimal(18.46, 1), "18,5");
        assert_eq!(Lang::En.decimal(4.2449, 2), "4.24");
    }
}
