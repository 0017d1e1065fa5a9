//! Languages: which language a page or a visitor's message is written in,
//! the PostgreSQL text-search configuration that stems it, and its name as
//! the visitor reads it. Detection is statistical (`whatlang`, trigrams and
//! scripts); a text too short or too mixed to tell is "unknown", never a
//! guess presented as fact.

use whatlang::{Detector, Lang};

/// A detected language: its ISO 639-1 code where one exists (`en`, `de`,
/// `ja`), else the ISO 639-3 code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Language(Lang);

/// Below this many letters a message is not worth a guess, unless its script
/// tells (kana, hangul, …).
const MIN_LETTERS: usize = 12;

impl Language {
    pub const ENGLISH: Language = Language(Lang::Eng);

    /// The language of `text`, when it can be told with some confidence.
    /// Short Latin-script messages ("ok", "agent") are `None`: the caller
    /// keeps what it knew (the conversation's language, or the docs').
    pub fn detect(text: &str) -> Option<Language> {
        let letters = text.chars().filter(|c| c.is_alphabetic()).count();
        let info = Detector::new().detect(text)?;
        let lang = info.lang();
        // Scripts that belong to one language decide on their own.
        let by_script = matches!(
            lang,
            Lang::Jpn | Lang::Kor | Lang::Tha | Lang::Ell | Lang::Heb | Lang::Kat | Lang::Hye
        );
        if by_script && letters >= 2 {
            return Some(Language(lang));
        }
        if lang == Lang::Cmn && letters >= 2 {
            return Some(Language(lang));
        }
        if letters < MIN_LETTERS {
            return None;
        }
        (info.is_reliable() || info.confidence() >= 0.5).then_some(Language(lang))
    }

    /// The language of a page's text (its longest stretch is enough).
    pub fn of_page(text: &str) -> Option<Language> {
        let sample: String = text.chars().take(4000).collect();
        let info = Detector::new().detect(&sample)?;
        (info.confidence() >= 0.3).then_some(Language(info.lang()))
    }

    /// The short code: `en`, `de`, `zh`, …
    pub fn code(self) -> &'static str {
        match self.0 {
            Lang::Eng => "en",
            Lang::Deu => "de",
            Lang::Fra => "fr",
            Lang::Spa => "es",
            Lang::Por => "pt",
            Lang::Ita => "it",
            Lang::Nld => "nl",
            Lang::Jpn => "ja",
            Lang::Cmn => "zh",
            Lang::Kor => "ko",
            Lang::Pol => "pl",
            Lang::Tur => "tr",
            Lang::Rus => "ru",
            Lang::Ukr => "uk",
            Lang::Ara => "ar",
            Lang::Hin => "hi",
            Lang::Vie => "vi",
            Lang::Ell => "el",
            Lang::Tha => "th",
            Lang::Ron => "ro",
            Lang::Swe => "sv",
            Lang::Dan => "da",
            Lang::Nob => "no",
            Lang::Fin => "fi",
            Lang::Ces => "cs",
            Lang::Hun => "hu",
            Lang::Ind => "id",
            Lang::Heb => "he",
            other => other.code(),
        }
    }

    /// The language's own name for itself ("Deutsch", "日本語").
    pub fn native_name(self) -> &'static str {
        self.0.name()
    }

    /// The language's English name ("German").
    pub fn english_name(self) -> &'static str {
        self.0.eng_name()
    }

    /// The PostgreSQL text-search configuration that stems this language;
    /// `simple` (lower-casing only) for those PostgreSQL does not stem.
    pub fn ts_config(self) -> &'static str {
        match self.0 {
            Lang::Eng => "english",
            Lang::Deu => "german",
            Lang::Fra => "french",
            Lang::Spa => "spanish",
            Lang::Por => "portuguese",
            Lang::Ita => "italian",
            Lang::Nld => "dutch",
            Lang::Rus => "russian",
            Lang::Swe => "swedish",
            Lang::Dan => "danish",
            Lang::Nob => "norwegian",
            Lang::Fin => "finnish",
            Lang::Hun => "hungarian",
            Lang::Ron => "romanian",
            Lang::Tur => "turkish",
            Lang::Ara => "arabic",
            Lang::Ell => "greek",
            Lang::Ind => "indonesian",
            Lang::Lit => "lithuanian",
            Lang::Nep => "nepali",
            Lang::Tam => "tamil",
            Lang::Hin => "hindi",
            Lang::Cat => "catalan",
            Lang::Hye => "armenian",
            Lang::Srp => "serbian",
            Lang::Yid => "yiddish",
            _ => "simple",
        }
    }
}

/// The English name of a language code as [`Language::code`] writes it.
pub fn name_of_code(code: &str) -> Option<&'static str> {
    Lang::all()
        .iter()
        .map(|&l| Language(l))
        .find(|l| l.code() == code)
        .map(Language::english_name)
}

/// "From our documentation, in {language}:" in the visitor's language, for
/// an answer quoted from documentation written in another one (the built-in
/// generator quotes; it cannot translate). `docs` is named as it names
/// itself ("English", "Deutsch"), which a visitor recognises on the page.
pub fn quoted_from_docs(visitor: Language, docs: Language) -> String {
    let docs = if docs == Language::ENGLISH {
        english_in(visitor)
    } else {
        docs.native_name()
    };
    match visitor.code() {
        "de" => format!("Aus unserer Dokumentation (auf {docs}):"),
        "fr" => format!("D’après notre documentation (en {docs}) :"),
        "es" => format!("De nuestra documentación (en {docs}):"),
        "pt" => format!("Da nossa documentação (em {docs}):"),
        "it" => format!("Dalla nostra documentazione (in {docs}):"),
        "nl" => format!("Uit onze documentatie (in het {docs}):"),
        "pl" => format!("Z naszej dokumentacji (w języku: {docs}):"),
        "tr" => format!("Belgelerimizden ({docs}):"),
        "ru" => format!("Из нашей документации (на языке: {docs}):"),
        "uk" => format!("З нашої документації (мовою: {docs}):"),
        "ar" => format!("من وثائقنا (باللغة: {docs}):"),
        "hi" => format!("हमारे दस्तावेज़ों से ({docs} में):"),
        "vi" => format!("Từ tài liệu của chúng tôi (bằng {docs}):"),
        "el" => format!("Από την τεκμηρίωσή μας (στα {docs}):"),
        "th" => format!("จากเอกสารของเรา (ภาษา {docs}):"),
        "ro" => format!("Din documentația noastră (în {docs}):"),
        "sv" => format!("Från vår dokumentation (på {docs}):"),
        "da" => format!("Fra vores dokumentation (på {docs}):"),
        "no" => format!("Fra dokumentasjonen vår (på {docs}):"),
        "fi" => format!("Dokumentaatiostamme ({docs}):"),
        "cs" => format!("Z naší dokumentace (v jazyce {docs}):"),
        "hu" => format!("A dokumentációnkból ({docs} nyelven):"),
        "id" => format!("Dari dokumentasi kami (dalam {docs}):"),
        "he" => format!("מהתיעוד שלנו (ב{docs}):"),
        "ja" => format!("ドキュメントより（{docs}）："),
        "zh" => format!("摘自我们的文档（{docs}）："),
        "ko" => format!("저희 문서에서 발췌 ({docs}):"),
        _ => format!("From our documentation, in {docs}:"),
    }
}

/// "English" as the visitor's language says it, in the grammar of the
/// sentence [`quoted_from_docs`] puts it in (most documentation is English).
fn english_in(visitor: Language) -> &'static str {
    match visitor.code() {
        "de" => "Englisch",
        "fr" => "anglais",
        "es" => "inglés",
        "pt" => "inglês",
        "it" => "inglese",
        "nl" => "Engels",
        "pl" => "angielski",
        "tr" => "İngilizce",
        "ru" => "английский",
        "uk" => "англійська",
        "ar" => "الإنجليزية",
        "hi" => "अंग्रेज़ी",
        "vi" => "tiếng Anh",
        "el" => "Αγγλικά",
        "th" => "อังกฤษ",
        "ro" => "engleză",
        "sv" => "engelska",
        "da" | "no" => "engelsk",
        "fi" => "englanniksi",
        "cs" => "angličtina",
        "hu" => "angol",
        "id" => "bahasa Inggris",
        "he" => "אנגלית",
        "ja" => "英語",
        "zh" => "英文",
        "ko" => "영어",
        _ => "English",
    }
}

/// The text-search configuration for a page's text: its language's, or
/// English when the page is too short or mixed to tell.
pub fn ts_config_of_page(text: &str) -> &'static str {
    Language::of_page(text).map_or("english", Language::ts_config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_common_languages_apart() {
        for (text, code) in [
            ("How do I change the billing address on my account?", "en"),
            ("Wie ändere ich die Rechnungsadresse in meinem Konto?", "de"),
            (
                "Comment modifier l'adresse de facturation de mon compte ?",
                "fr",
            ),
            (
                "¿Cómo cambio la dirección de facturación de mi cuenta?",
                "es",
            ),
            ("Como altero o endereço de cobrança da minha conta?", "pt"),
            (
                "アカウントの請求先住所を変更するにはどうすればいいですか？",
                "ja",
            ),
            ("如何更改我账户的账单地址？", "zh"),
            ("계정의 청구 주소를 어떻게 변경하나요?", "ko"),
            ("Как изменить платёжный адрес в моём аккаунте?", "ru"),
        ] {
            assert_eq!(
                Language::detect(text).map(Language::code),
                Some(code),
                "{text}"
            );
        }
    }

    #[test]
    fn short_latin_messages_are_not_guessed() {
        assert_eq!(Language::detect("ok"), None);
        assert_eq!(Language::detect("agent"), None);
        assert_eq!(Language::detect("人工").map(Language::code), Some("zh"));
    }

    #[test]
    fn says_where_a_quote_comes_from_in_the_visitors_language() {
        let de = Language::detect("Wie lange dauert die Rückerstattung?").unwrap();
        assert_eq!(
            quoted_from_docs(de, Language::ENGLISH),
            "Aus unserer Dokumentation (auf Englisch):"
        );
        let ja = Language::detect("返金にはどのくらいかかりますか？").unwrap();
        assert_eq!(
            quoted_from_docs(ja, Language::ENGLISH),
            "ドキュメントより（英語）："
        );
    }

    #[test]
    fn pages_are_stemmed_in_their_language() {
        assert_eq!(
            ts_config_of_page(
                "Die Rückgabe ist innerhalb von dreißig Tagen nach dem Kauf möglich. \
                 Bitte bewahren Sie den Kassenbon auf."
            ),
            "german"
        );
        assert_eq!(
            ts_config_of_page("こんにちは、返品は三十日以内に可能です。"),
            "simple"
        );
        assert_eq!(ts_config_of_page(""), "english");
    }
}
