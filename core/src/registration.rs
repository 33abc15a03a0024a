//! What is recorded after a chat: the counsellor's registration and the client's rating.
//!
//! The statistics of the annual report are computed from these records and from
//! conversation metadata, never from message text. The topic taxonomy is the sector's four
//! domains (PGZ, PSF, L&S, OLB) with the themes the 2021-2022 report names; labels are Dutch
//! first with an English translation.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::ids::{ConversationId, DeskId, StaffId};

/// Who the client said they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientType {
    /// A student (leerling).
    Student,
    /// A parent (ouder).
    Parent,
    /// A teacher (leerkracht): a centre's chatbox sees them, e.g. after an incident at
    /// school.
    Teacher,
    /// Someone else: a grandparent, a youth worker.
    Other,
}

/// Gender as self-reported: the annual report counts F, M and X.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Gender {
    /// Female.
    F,
    /// Male.
    M,
    /// Non-binary or not specified otherwise.
    X,
}

/// The four domains of CLB work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Domain {
    /// Preventieve gezondheidszorg: preventive health care.
    #[serde(rename = "PGZ")]
    Pgz,
    /// Psychisch en sociaal functioneren: psychological and social functioning.
    #[serde(rename = "PSF")]
    Psf,
    /// Leren en studeren: learning and studying.
    #[serde(rename = "LS")]
    Ls,
    /// Onderwijsloopbaanbegeleiding: educational career guidance.
    #[serde(rename = "OLB")]
    Olb,
}

/// One theme of the taxonomy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Topic {
    /// Stable code stored in registrations, e.g. `psf.family`.
    pub code: &'static str,
    /// The domain.
    pub domain: Domain,
    /// Dutch label.
    pub nl: &'static str,
    /// English label.
    pub en: &'static str,
}

macro_rules! topics {
    ($( $code:literal, $dom:ident, $nl:literal, $en:literal; )*) => {
        /// Every theme a counsellor can register, grouped by domain.
        pub const TOPICS: &[Topic] = &[ $( Topic { code: $code, domain: Domain::$dom, nl: $nl, en: $en }, )* ];
    };
}

topics! {
    "pgz.sexuality", Pgz, "Seksualiteit", "Sexuality";
    "pgz.covid_medical", Pgz, "COVID – medische vragen & info", "COVID – medical questions & information";
    "pgz.vaccination_covid", Pgz, "Vaccinatie – COVID", "Vaccination – COVID";
    "pgz.vaccination", Pgz, "Vaccinatie – algemeen", "Vaccination – general";
    "pgz.contact_moment", Pgz, "Systematisch contactmoment", "Routine health check";
    "pgz.physical_health", Pgz, "Lichamelijke gezondheid", "Physical health";
    "pgz.eating", Pgz, "Eetgewoontes en gewicht", "Eating habits and weight";
    "pgz.substances", Pgz, "Alcohol, drugs en middelen", "Alcohol, drugs and substances";
    "psf.family", Psf, "Interactie in het gezin", "Family interaction";
    "psf.in_love", Psf, "Verliefdheid", "Being in love";
    "psf.relationship_skills", Psf, "Relatievaardigheid", "Relationship skills";
    "psf.bullying", Psf, "Pesten/cyberpesten", "Bullying/cyberbullying";
    "psf.suicidal_thoughts", Psf, "Zelfmoordgedachten", "Suicidal thoughts";
    "psf.depression", Psf, "Depressie", "Depression";
    "psf.self_harm", Psf, "Zelfverwonding", "Self-harm";
    "psf.rule_breaking", Psf, "Regelovertredend gedrag", "Rule-breaking behaviour";
    "psf.covid_related", Psf, "Aan COVID gelinkt", "Related to COVID";
    "psf.anxiety", Psf, "Angst en stress", "Anxiety and stress";
    "psf.gender_diversity", Psf, "Genderdiversiteit", "Gender diversity";
    "ls.study_method", Ls, "Leer- en studiemethode", "Learning and study method";
    "ls.learning_difficulties", Ls, "Leermoeilijkheden", "Learning difficulties";
    "ls.motivation", Ls, "Motivatie", "Motivation";
    "ls.absence", Ls, "Spijbelen en afwezigheid", "Truancy and absence";
    "olb.study_choice", Olb, "Studiekeuze, schoolloopbaan", "Study choice, school career";
    "olb.school_change", Olb, "Verandering van school", "Changing schools";
}

/// Looks up a theme by its code.
pub fn topic(code: &str) -> Option<&'static Topic> {
    TOPICS.iter().find(|t| t.code == code)
}

/// A result of the chat; several may apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChatResult {
    /// Emotionele ondersteuning.
    EmotionalSupport,
    /// Informatie en advies.
    InformationAdvice,
    /// Doorverwezen naar het CLB.
    ReferredToClb,
    /// Doorverwezen naar de leerlingenbegeleiding van de school.
    ReferredToSchoolCare,
    /// Doorverwezen naar het bredere netwerk.
    ReferredToNetwork,
    /// Gesprek abrupt afgebroken (bad WiFi, empty battery, distraction).
    BrokenOff,
}

/// How the client found the chat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FoundVia {
    /// Smartschool.
    Smartschool,
    /// A CLB website.
    ClbWebsite,
    /// A school website.
    SchoolWebsite,
    /// An earlier chat.
    EarlierChat,
    /// Another chat line or a partner's website.
    OtherChatLine,
    /// Social media.
    SocialMedia,
    /// Posters and flyers.
    PostersFlyers,
    /// Something else.
    Other,
}

impl FoundVia {
    /// Every answer, in the order a form lists them.
    pub const ALL: &'static [FoundVia] = &[
        FoundVia::Smartschool,
        FoundVia::ClbWebsite,
        FoundVia::SchoolWebsite,
        FoundVia::EarlierChat,
        FoundVia::OtherChatLine,
        FoundVia::SocialMedia,
        FoundVia::PostersFlyers,
        FoundVia::Other,
    ];
}

impl ChatResult {
    /// Every result, in the order a form lists them.
    pub const ALL: &'static [ChatResult] = &[
        ChatResult::EmotionalSupport,
        ChatResult::InformationAdvice,
        ChatResult::ReferredToClb,
        ChatResult::ReferredToSchoolCare,
        ChatResult::ReferredToNetwork,
        ChatResult::BrokenOff,
    ];
}

/// The counsellor's registration of one chat.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Registration {
    /// The conversation.
    pub conversation: ConversationId,
    /// Its desk.
    pub desk: DeskId,
    /// Who registered.
    pub counsellor: StaffId,
    /// Student, parent or other.
    pub client_type: ClientType,
    /// Self-reported age (of the student; for a parent, the child's age).
    pub age: Option<u8>,
    /// Self-reported gender.
    pub gender: Option<Gender>,
    /// Topic codes from [`TOPICS`].
    pub topics: Vec<String>,
    /// Results, several may apply.
    pub results: Vec<ChatResult>,
    /// How the client found the chat, if asked.
    pub found_via: Option<FoundVia>,
    /// The counsellor suspects a fake call.
    pub fake_call: bool,
    /// When it was registered.
    pub registered_at: DateTime<Utc>,
}

/// What a counsellor fills in; the engine adds conversation, desk, counsellor and time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegistrationForm {
    /// Student, parent or other.
    pub client_type: ClientType,
    /// Self-reported age.
    #[serde(default)]
    pub age: Option<u8>,
    /// Self-reported gender.
    #[serde(default)]
    pub gender: Option<Gender>,
    /// Topic codes from [`TOPICS`]; at least one.
    pub topics: Vec<String>,
    /// Results; at least one.
    pub results: Vec<ChatResult>,
    /// How the client found the chat.
    #[serde(default)]
    pub found_via: Option<FoundVia>,
    /// Suspected fake call.
    #[serde(default)]
    pub fake_call: bool,
}

impl RegistrationForm {
    /// Checks the form: known topics, at least one topic and one result, a plausible age.
    pub fn validate(&self) -> Result<()> {
        if self.topics.is_empty() {
            return Err(Error::Invalid(
                "registration: choose at least one topic".into(),
            ));
        }
        if let Some(bad) = self.topics.iter().find(|t| topic(t).is_none()) {
            return Err(Error::Invalid(format!(
                "registration: `{bad}` is not a topic of the taxonomy (e.g. `olb.study_choice`)"
            )));
        }
        if self.results.is_empty() {
            return Err(Error::Invalid(
                "registration: choose at least one result".into(),
            ));
        }
        if let Some(age) = self.age {
            if !(3..=99).contains(&age) {
                return Err(Error::Invalid(format!(
                    "registration: age {age} is not plausible; leave it empty if unknown"
                )));
            }
        }
        Ok(())
    }
}

/// Longest comment a client can leave with a rating, in characters.
pub const MAX_RATING_COMMENT_CHARS: usize = 2_000;

/// The client's rating of a chat.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rating {
    /// The conversation.
    pub conversation: ConversationId,
    /// Its desk.
    pub desk: DeskId,
    /// 1 to 5 stars.
    pub stars: u8,
    /// An optional comment.
    pub comment: Option<String>,
    /// When it was given.
    pub rated_at: DateTime<Utc>,
}

impl Rating {
    /// Checks stars and comment length.
    pub fn validate(&self) -> Result<()> {
        if !(1..=5).contains(&self.stars) {
            return Err(Error::Invalid(format!(
                "rating: {} stars is not between 1 and 5",
                self.stars
            )));
        }
        if let Some(c) = &self.comment {
            if c.chars().count() > MAX_RATING_COMMENT_CHARS {
                return Err(Error::Invalid(format!(
                    "rating: the comment is longer than {MAX_RATING_COMMENT_CHARS} characters"
                )));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_codes_are_unique_and_cover_all_domains() {
        let mut codes: Vec<_> = TOPICS.iter().map(|t| t.code).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), TOPICS.len());
        for d in [Domain::Pgz, Domain::Psf, Domain::Ls, Domain::Olb] {
            assert!(TOPICS.iter().any(|t| t.domain == d), "{d:?} has no theme");
        }
        assert_eq!(
            topic("olb.study_choice").map(|t| t.nl),
            Some("Studiekeuze, schoolloopbaan")
        );
    }

    #[test]
    fn a_form_without_topic_or_with_unknown_topic_is_refused_with_the_reason() {
        let mut form = RegistrationForm {
            client_type: ClientType::Student,
            age: Some(15),
            gender: Some(Gender::F),
            topics: vec![],
            results: vec![ChatResult::InformationAdvice],
            found_via: None,
            fake_call: false,
        };
        assert!(form
            .validate()
            .unwrap_err()
            .to_string()
            .contains("at least one topic"));
        form.topics = vec!["psf.nonsense".into()];
        assert!(form
            .validate()
            .unwrap_err()
            .to_string()
            .contains("`psf.nonsense`"));
        form.topics = vec!["psf.family".into()];
        assert!(form.validate().is_ok());
        form.age = Some(140);
        assert!(form.validate().is_err());
    }
}
