//! Masking a chat for intervision: the words that could tell who the visitor is, or where
//! they live or go to school, are replaced by what they were (`[naam]`, `[plaats]`,
//! `[school]`, `[adres]`, `[telefoonnummer]`, `[e-mailadres]`, `[link]`), in Dutch and in
//! English, before a chat leaves the desk for a group session.
//!
//! What it masks, in this order:
//!
//! 1. e-mail addresses, links (`https://…`, `www.…`, `naam.be/…`), phone numbers (Belgian and
//!    international forms, 8 digits or more with spaces, dots, slashes or dashes);
//! 2. the names it is told about: the visitor's nickname, the counsellors' aliases, any
//!    name the caller knows (whole words, any case);
//! 3. addresses: a word ending in a street word (`straat`, `laan`, `plein`, `weg`, `street`,
//!    `road`…) with the house number after it;
//! 4. schools: the capitalised words around a school word (`Sint-Jozefscollege`,
//!    `Atheneum Brugge`, `Sint-Lodewijk school`, `Oak Hill High School`);
//! 5. places: a capitalised word after `in`, `uit`, `naar`, `te`, `from`, `near`;
//! 6. names said as names: the word after `ik heet`, `mijn naam is`, `my name is`, in any
//!    case;
//! 7. name-like words: any other capitalised word that does not start a sentence and is
//!    not a common word.
//!
//! **What it cannot promise** (said on every export, [`LIMITS_NL`], [`LIMITS_EN`]): a name
//! written in lower case at the start of nothing, a nickname the store does not know, a
//! detail that identifies without being a name (a rare illness, a unique event, a family
//! situation), misspelt places, or the way someone writes. The export is read by
//! colleagues bound by professional secrecy, never published.

use std::sync::LazyLock;

use regex::Regex;

/// What the export says it cannot promise, in Dutch.
pub const LIMITS_NL: &str = "Namen, plaatsen, scholen, adressen, telefoonnummers, \
    e-mailadressen en links zijn automatisch vervangen. Dat is niet volledig: een naam met \
    een kleine letter, een bijnaam die we niet kennen, of een detail dat iemand herkenbaar \
    maakt zonder een naam te zijn (een zeldzame ziekte, een uniek voorval, een \
    gezinssituatie) blijft staan. Lees het gesprek na voor je het deelt, en deel het alleen \
    binnen de intervisie.";

/// What the export says it cannot promise, in English.
pub const LIMITS_EN: &str = "Names, places, schools, addresses, phone numbers, e-mail \
    addresses and links were replaced automatically. That is not complete: a name in lower \
    case, a nickname we do not know, or a detail that identifies someone without being a \
    name (a rare illness, a unique event, a family situation) stays. Read the chat before \
    you share it, and share it only within the intervision session.";

static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}\b").unwrap_or_else(|e| panic!("{e}"))
});

static LINK: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(?:https?://\S+|www\.\S+|[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:be|nl|com|org|net|eu|io|me|tv|gg)(?:/\S*)?)",
    )
    .unwrap_or_else(|e| panic!("{e}"))
});

static PHONE: LazyLock<Regex> = LazyLock::new(|| {
    // +32 470 12 34 56, 0470/12.34.56, 09 123 45 67, 0032470123456, 1813 stays (4 digits).
    Regex::new(r"(?:\+|\b00)?\d(?:[\s./-]?\d){7,13}\b").unwrap_or_else(|e| panic!("{e}"))
});

static ADDRESS: LazyLock<Regex> = LazyLock::new(|| {
    // A Dutch street (one word: Kerkstraat, Brusselsesteenweg) or an English one (Baker
    // Street), with its house number and box after it.
    Regex::new(
        r"\b(?:\p{L}[\p{L}-]*(?i:straat|laan|plein|steenweg|dreef|kaai)|\p{Lu}[\p{L}-]*\s+(?:Street|Road|Avenue|Lane|Drive))\b(?:\s+\d+[a-z]?(?:\s*(?:bus|/)\s*\d+)?)?",
    )
    .unwrap_or_else(|e| panic!("{e}"))
});

static SCHOOL: LazyLock<Regex> = LazyLock::new(|| {
    // A school word with the capitalised words around it, or inside a word
    // (Sint-Jozefscollege, Atheneum Brugge, Oak Hill High School); masked only when
    // something in it is capitalised (a name), so "op school" stays.
    Regex::new(
        r"(?:\b\p{Lu}[\p{L}-]*\s+)*\b[\p{L}-]*(?i:college|atheneum|lyceum|instituut|institute|academie|academy|school|scholengroep|campus|gymnasium)\b(?:\s+\p{Lu}[\p{L}-]*)*",
    )
    .unwrap_or_else(|e| panic!("{e}"))
});

static PLACE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(?i:in|uit|naar|te|from|near)\s+(\p{Lu}[\p{L}-]+)")
        .unwrap_or_else(|e| panic!("{e}"))
});

static INTRODUCED: LazyLock<Regex> = LazyLock::new(|| {
    // Said so, the next word is a name in any case ("mijn naam is jonas").
    Regex::new(r"(?i:\bik\s+heet|\bmijn\s+naam\s+is|\bmy\s+name\s+is)\s+(\p{L}[\p{L}-]*)")
        .unwrap_or_else(|e| panic!("{e}"))
});

static WORD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\p{Lu}[\p{L}'-]*").unwrap_or_else(|e| panic!("{e}")));

/// Capitalised words that are not names: pronouns, days, months, words that are often
/// capitalised mid-sentence. Compared in lower case.
const COMMON: &[&str] = &[
    "ik",
    "i",
    "je",
    "jij",
    "u",
    "hij",
    "zij",
    "ze",
    "wij",
    "we",
    "jullie",
    "mijn",
    "mama",
    "papa",
    "mam",
    "pap",
    "oké",
    "ok",
    "okay",
    "ja",
    "nee",
    "sorry",
    "dank",
    "bedankt",
    "hallo",
    "hoi",
    "hey",
    "hi",
    "hello",
    "dag",
    "maandag",
    "dinsdag",
    "woensdag",
    "donderdag",
    "vrijdag",
    "zaterdag",
    "zondag",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "januari",
    "februari",
    "maart",
    "april",
    "mei",
    "juni",
    "juli",
    "augustus",
    "september",
    "oktober",
    "november",
    "december",
    "january",
    "february",
    "march",
    "may",
    "june",
    "july",
    "august",
    "october",
    "clb",
    "clbch@t",
    "chat",
    "tiktok",
    "instagram",
    "snapchat",
    "whatsapp",
    "youtube",
    "google",
    "nederlands",
    "frans",
    "engels",
    "wiskunde",
    "english",
    "dutch",
    "french",
    "kerst",
    "pasen",
    "christmas",
    "easter",
    "god",
    "awel",
    "tele-onthaal",
    "zelfmoordlijn",
    "the",
    "and",
];

/// The names to mask for one known name: the name itself and each of its words of three
/// letters or more that is not a common word ("Anna P." also masks "Anna"; "Medewerker
/// ann" also "ann").
pub fn name_parts(name: &str) -> Vec<String> {
    let mut out = vec![name.trim().to_owned()];
    for w in name.split(|c: char| !c.is_alphabetic() && c != '-') {
        if w.chars().count() >= 3 && !COMMON.contains(&w.to_lowercase().as_str()) {
            out.push(w.to_owned());
        }
    }
    out
}

/// A chat's text masked ([`mask`]).
pub fn mask(text: &str, known_names: &[&str]) -> String {
    let mut out = EMAIL.replace_all(text, "[e-mailadres]").into_owned();
    out = LINK.replace_all(&out, "[link]").into_owned();
    out = PHONE.replace_all(&out, "[telefoonnummer]").into_owned();
    for name in known_names {
        let name = name.trim();
        if name.chars().count() < 2 {
            continue;
        }
        if let Ok(re) = Regex::new(&format!(r"(?i)\b{}\b", regex::escape(name))) {
            out = re.replace_all(&out, "[naam]").into_owned();
        }
    }
    out = ADDRESS.replace_all(&out, "[adres]").into_owned();
    let hay = out.clone();
    out = SCHOOL
        .replace_all(&hay, |c: &regex::Captures<'_>| {
            let m = c.get(0).map_or(0..0, |m| m.range());
            let whole = &hay[m.clone()];
            // A capital that only starts the sentence ("Op school …") names nothing.
            let mut words: Vec<&str> = whole.split_whitespace().collect();
            if starts_sentence(&hay[..m.start]) && words.len() > 1 {
                words.remove(0);
            }
            if words.iter().any(|w| w.chars().any(char::is_uppercase)) {
                "[school]".to_owned()
            } else {
                whole.to_owned()
            }
        })
        .into_owned();
    out = INTRODUCED
        .replace_all(&out, |c: &regex::Captures<'_>| {
            let whole = &c[0];
            let name = &c[1];
            if COMMON.contains(&name.to_lowercase().as_str()) || name.starts_with('[') {
                whole.to_owned()
            } else {
                format!("{}[naam]", &whole[..whole.len() - name.len()])
            }
        })
        .into_owned();
    out = PLACE
        .replace_all(&out, |c: &regex::Captures<'_>| {
            let whole = &c[0];
            let place = &c[1];
            if COMMON.contains(&place.to_lowercase().as_str()) {
                whole.to_owned()
            } else {
                format!("{}[plaats]", &whole[..whole.len() - place.len()])
            }
        })
        .into_owned();
    mask_name_like(&out)
}

/// Whether what follows `before` starts a sentence.
fn starts_sentence(before: &str) -> bool {
    let before = before.trim_end();
    before.is_empty() || before.ends_with(['.', '!', '?', ':', '\n', '"', '(', '-', '…'])
}

/// Any other capitalised word that does not start a sentence and is not common.
fn mask_name_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for m in WORD.find_iter(text) {
        let before = text[..m.start()].trim_end();
        let starts_sentence = starts_sentence(before);
        let inside_mask = before.ends_with('[');
        let word = m.as_str();
        let common = COMMON.contains(&word.to_lowercase().as_str());
        out.push_str(&text[last..m.start()]);
        if starts_sentence || inside_mask || common || word.chars().count() < 2 {
            out.push_str(word);
        } else {
            out.push_str("[naam]");
        }
        last = m.end();
    }
    out.push_str(&text[last..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn masked(text: &str) -> String {
        mask(text, &["Vlinder", "Anna"])
    }

    #[test]
    fn contact_details_go() {
        assert_eq!(
            masked("Mail me op lotte.peeters@gmail.com of bel 0470 12 34 56."),
            "Mail me op [e-mailadres] of bel [telefoonnummer]."
        );
        assert_eq!(
            masked("Mijn nummer: +32 470/12.34.56, of 09-123-45-67"),
            "Mijn nummer: [telefoonnummer], of [telefoonnummer]"
        );
        assert_eq!(
            masked("Kijk op https://www.instagram.com/lotte_2009 en www.mijnblog.be"),
            "Kijk op [link] en [link]"
        );
        assert_eq!(masked("Zie sintjozef.be/inschrijven"), "Zie [link]");
        // Crisis lines stay: four digits is no phone number of a person.
        assert_eq!(masked("Bel 1813 of 106."), "Bel 1813 of 106.");
    }

    #[test]
    fn known_names_go_in_any_case() {
        assert_eq!(
            masked("Dag vlinder, ik ben Anna. VLINDER?"),
            "Dag [naam], ik ben [naam]. [naam]?"
        );
    }

    #[test]
    fn dutch_names_places_schools_and_addresses_go() {
        assert_eq!(
            masked("Ik heet Lotte en ik zit op het Sint-Jozefscollege in Aalst."),
            "Ik heet [naam] en ik zit op het [school] in [plaats]."
        );
        assert_eq!(
            masked("Mijn naam is jonas, ik woon in de Kerkstraat 12 bus 3 te Gent."),
            "Mijn naam is [naam], ik woon in de [adres] te [plaats]."
        );
        assert_eq!(
            masked("Gisteren zei Emma tegen Noah dat ik naar Atheneum Brugge moet."),
            "Gisteren zei [naam] tegen [naam] dat ik naar [school] moet."
        );
        assert_eq!(
            masked("Mijn mama en ik gaan maandag naar het CLB."),
            "Mijn mama en ik gaan maandag naar het CLB."
        );
    }

    #[test]
    fn english_names_places_schools_and_addresses_go() {
        assert_eq!(
            masked("My name is Liam and I go to Oak Hill High School near Leuven."),
            "My name is [naam] and I go to [school] near [plaats]."
        );
        assert_eq!(
            masked("I live at 5 Baker Street, my friend Olivia lives in Antwerp."),
            "I live at 5 [adres], my friend [naam] lives in [plaats]."
        );
        assert_eq!(
            masked("I'm Sam. On Monday I told Mr Janssens."),
            "I'm [naam]. On Monday I told [naam] [naam]."
        );
    }

    #[test]
    fn ordinary_sentences_stay() {
        for text in [
            "Ik voel me niet goed de laatste tijd.",
            "Ik ben bang en ik wil weg. Op school lacht iedereen me uit.",
            "Dat klinkt zwaar. Wil je er meer over vertellen?",
            "I feel sad. Can we talk about it?",
            "Oké, bedankt! Tot ziens.",
        ] {
            assert_eq!(masked(text), text);
        }
    }
}
