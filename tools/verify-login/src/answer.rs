//! Reading STS's answer. Only a GetCallerIdentityResponse with exactly one result and
//! non-empty Arn, Account and UserId is accepted; a DOCTYPE (entity expansion), text
//! outside the root, a second result or anything unexpected is refused.

use common::{Error, Result};
use quick_xml::events::Event;
use quick_xml::reader::Reader;

/// Who STS says signed the proof, before it is checked further.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub arn: String,
    pub account: String,
    pub user_id: String,
}

const MAX_DEPTH: usize = 8;

fn refused(text: impl std::fmt::Display) -> Error {
    Error::denied(format!("STS answer not accepted: {text}"))
}

/// Parses a 200 answer; `presigned` also admits the JSON that STS returns to
/// presigned GETs asking for it.
pub fn parse(body: &[u8], content_type: Option<&str>, presigned: bool) -> Result<Caller> {
    let media = content_type
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match media.as_str() {
        "text/xml" | "application/xml" => parse_xml(body),
        "application/json" if presigned => parse_json(body),
        "" => Err(refused("no content type")),
        other => Err(refused(format_args!("content type {other}"))),
    }
}

fn parse_json(body: &[u8]) -> Result<Caller> {
    use serde::Deserialize;
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Doc {
        #[serde(rename = "GetCallerIdentityResponse")]
        response: Response,
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Response {
        #[serde(rename = "GetCallerIdentityResult")]
        result: Fields,
        #[serde(rename = "ResponseMetadata")]
        _metadata: Option<serde_json::Value>,
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Fields {
        #[serde(rename = "Arn")]
        arn: String,
        #[serde(rename = "Account")]
        account: String,
        #[serde(rename = "UserId")]
        user_id: String,
    }
    let doc: Doc = serde_json::from_slice(body).map_err(|e| refused(format_args!("JSON: {e}")))?;
    let f = doc.response.result;
    non_empty(Caller {
        arn: f.arn,
        account: f.account,
        user_id: f.user_id,
    })
}

fn non_empty(c: Caller) -> Result<Caller> {
    for (name, v) in [
        ("Arn", &c.arn),
        ("Account", &c.account),
        ("UserId", &c.user_id),
    ] {
        if v.trim().is_empty() {
            return Err(refused(format_args!("empty {name}")));
        }
    }
    Ok(c)
}

fn parse_xml(body: &[u8]) -> Result<Caller> {
    let text = std::str::from_utf8(body).map_err(|_| refused("not UTF-8"))?;
    let mut reader = Reader::from_str(text);
    reader.config_mut().trim_text(true);
    let mut path: Vec<String> = Vec::new();
    let mut root_seen = false;
    let mut results = 0;
    let (mut arn, mut account, mut user_id): (Option<String>, Option<String>, Option<String>) =
        (None, None, None);
    let mut current = String::new();
    loop {
        let event = reader
            .read_event()
            .map_err(|e| refused(format_args!("XML: {e}")))?;
        match event {
            Event::Decl(_) if !root_seen && path.is_empty() => {}
            Event::Comment(_) => {}
            Event::DocType(_) => return Err(refused("has a DOCTYPE")),
            Event::PI(_) => return Err(refused("has a processing instruction")),
            Event::Start(e) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                if path.is_empty() {
                    if root_seen {
                        return Err(refused("more than one root element"));
                    }
                    if name != "GetCallerIdentityResponse" {
                        return Err(refused(format_args!("root element is {name}")));
                    }
                    root_seen = true;
                } else if path.len() == 1 && name == "GetCallerIdentityResult" {
                    results += 1;
                    if results > 1 {
                        return Err(refused("more than one GetCallerIdentityResult"));
                    }
                } else if path.len() >= 3 && path[1] == "GetCallerIdentityResult" {
                    // A value is text only: markup inside it would be dropped from
                    // what is read, and the caller's name pieced together.
                    return Err(refused(format_args!("element {name} inside {}", path[2])));
                } else if path.len() == 2 && path[1] == "GetCallerIdentityResult" {
                    if !matches!(name.as_str(), "Arn" | "Account" | "UserId") {
                        return Err(refused(format_args!(
                            "unexpected element {name} in the result"
                        )));
                    }
                    current.clear();
                }
                path.push(name);
                if path.len() > MAX_DEPTH {
                    return Err(refused("nested too deeply"));
                }
            }
            Event::Empty(e) => {
                if path.is_empty() {
                    return Err(refused("root element is empty"));
                }
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                if path.len() == 2 && path[1] == "GetCallerIdentityResult" {
                    return Err(refused(format_args!("empty {name}")));
                }
                if path.len() >= 3 && path[1] == "GetCallerIdentityResult" {
                    return Err(refused(format_args!("element {name} inside {}", path[2])));
                }
                if path.len() == 1 && name == "GetCallerIdentityResult" {
                    return Err(refused("empty GetCallerIdentityResult"));
                }
            }
            Event::Text(t) => {
                if path.is_empty() {
                    return Err(refused("text outside the root element"));
                }
                if path.len() == 2 && path[1] == "GetCallerIdentityResult" {
                    return Err(refused("text between the result's elements"));
                }
                if path.len() == 3 {
                    let s = t
                        .decode()
                        .map_err(|e| refused(format_args!("XML text: {e}")))?;
                    current.push_str(&s);
                }
            }
            Event::CData(_) => return Err(refused("has CDATA")),
            Event::GeneralRef(r) => {
                let name = String::from_utf8_lossy(r.as_ref()).into_owned();
                let ch = match name.as_str() {
                    "amp" => '&',
                    "lt" => '<',
                    "gt" => '>',
                    "quot" => '"',
                    "apos" => '\'',
                    _ => match r.resolve_char_ref() {
                        Ok(Some(c)) => c,
                        _ => return Err(refused(format_args!("unknown entity &{name};"))),
                    },
                };
                if path.len() == 3 {
                    current.push(ch);
                }
            }
            Event::End(_) => {
                if path.len() == 3 && path[1] == "GetCallerIdentityResult" {
                    let slot = match path[2].as_str() {
                        "Arn" => &mut arn,
                        "Account" => &mut account,
                        _ => &mut user_id,
                    };
                    if slot.replace(std::mem::take(&mut current)).is_some() {
                        return Err(refused(format_args!("repeats {}", path[2])));
                    }
                }
                path.pop();
            }
            Event::Eof => break,
            _ => return Err(refused("unexpected XML content")),
        }
    }
    if !root_seen {
        return Err(refused("no GetCallerIdentityResponse"));
    }
    if results != 1 {
        return Err(refused("no GetCallerIdentityResult"));
    }
    match (arn, account, user_id) {
        (Some(arn), Some(account), Some(user_id)) => non_empty(Caller {
            arn,
            account,
            user_id,
        }),
        _ => Err(refused("result lacks Arn, Account or UserId")),
    }
}

/// The `<Code>` of an AWS error answer, if it has one.
pub fn error_code(body: &[u8]) -> Option<String> {
    element_text(body, "Code")
}

/// `Code: Message` of an AWS error answer, short and printable, for messages.
pub fn error_summary(body: &[u8]) -> String {
    let code = element_text(body, "Code");
    let message = element_text(body, "Message");
    let text = match (code, message) {
        (Some(c), Some(m)) => format!("{c}: {m}"),
        (Some(c), None) => c,
        (None, Some(m)) => m,
        (None, None) => "no AWS error in the answer".to_string(),
    };
    let clean: String = text.chars().filter(|c| !c.is_control()).take(300).collect();
    clean
}

/// The text of the first element with this local name, without entity expansion.
fn element_text(body: &[u8], name: &str) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    let mut reader = Reader::from_str(text);
    let mut inside = false;
    let mut out = String::new();
    for _ in 0..10_000 {
        match reader.read_event().ok()? {
            Event::Start(e) if e.local_name().as_ref() == name.as_bytes() => inside = true,
            Event::Text(t) if inside => out.push_str(&t.decode().ok()?),
            Event::End(_) if inside => return Some(out.trim().to_string()),
            Event::DocType(_) | Event::Eof => return None,
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <GetCallerIdentityResult>
    <Arn>arn:aws:iam::123456789012:user/alice</Arn>
    <UserId>AIDAEXAMPLE</UserId>
    <Account>123456789012</Account>
  </GetCallerIdentityResult>
  <ResponseMetadata><RequestId>01234567-89ab-cdef-0123-456789abcdef</RequestId></ResponseMetadata>
</GetCallerIdentityResponse>"#;

    fn xml(body: &str) -> Result<Caller> {
        parse(body.as_bytes(), Some("text/xml"), false)
    }

    #[test]
    fn accepts_a_real_answer() {
        let c = xml(GOOD).unwrap();
        assert_eq!(c.arn, "arn:aws:iam::123456789012:user/alice");
        assert_eq!(c.account, "123456789012");
        assert_eq!(c.user_id, "AIDAEXAMPLE");
        assert!(xml(&format!("<?xml version=\"1.0\"?>\n{GOOD}")).is_ok());
    }

    #[test]
    fn refuses_crafted_answers() {
        let two = GOOD.replace(
            "</GetCallerIdentityResult>",
            "</GetCallerIdentityResult><GetCallerIdentityResult><Arn>x</Arn></GetCallerIdentityResult>",
        );
        let cases = [
            ("two results", two),
            ("leading garbage", format!("junk{GOOD}")),
            (
                "trailing root",
                format!("{GOOD}<GetCallerIdentityResponse/>"),
            ),
            ("doctype", format!("<!DOCTYPE x [<!ENTITY a \"b\">]>{GOOD}")),
            ("entity", GOOD.replace("alice", "&a;")),
            (
                "empty arn",
                GOOD.replace("arn:aws:iam::123456789012:user/alice", ""),
            ),
            (
                "repeated arn",
                GOOD.replace("<UserId>", "<Arn>x</Arn><UserId>"),
            ),
            (
                "extra field",
                GOOD.replace("<UserId>", "<Role>x</Role><UserId>"),
            ),
            (
                "other root",
                GOOD.replace("GetCallerIdentityResponse", "AssumeRoleResponse"),
            ),
            ("no result", "<GetCallerIdentityResponse/>".to_string()),
            ("cdata", GOOD.replace("alice", "<![CDATA[alice]]>")),
            // Markup inside a value would be dropped and the rest pieced together:
            // "user/<x>admin</x>alice" must not read as "user/alice".
            (
                "element inside arn",
                GOOD.replace("user/alice", "user/<x>admin</x>alice"),
            ),
            (
                "empty element inside arn",
                GOOD.replace("alice", "<x/>alice"),
            ),
            (
                "text between fields",
                GOOD.replace("<UserId>", "stray<UserId>"),
            ),
        ];
        for (what, body) in cases {
            let err = xml(&body).expect_err(what);
            assert_eq!(err.code(), common::ExitCode::Denied, "{what}");
        }
    }

    #[test]
    fn content_types() {
        assert!(parse(GOOD.as_bytes(), Some("text/xml; charset=utf-8"), false).is_ok());
        assert!(parse(GOOD.as_bytes(), Some("text/html"), false).is_err());
        assert!(parse(GOOD.as_bytes(), None, false).is_err());
        let json = br#"{"GetCallerIdentityResponse":{"GetCallerIdentityResult":{"Arn":"arn:aws:iam::123456789012:user/a","Account":"123456789012","UserId":"AIDA"},"ResponseMetadata":{"RequestId":"x"}}}"#;
        assert!(parse(json, Some("application/json"), true).is_ok());
        assert!(parse(json, Some("application/json"), false).is_err());
    }

    #[test]
    fn error_answers_are_summarised() {
        let body = b"<ErrorResponse><Error><Type>Sender</Type><Code>SignatureDoesNotMatch</Code><Message>bad sig</Message></Error></ErrorResponse>";
        assert_eq!(error_code(body).as_deref(), Some("SignatureDoesNotMatch"));
        assert_eq!(error_summary(body), "SignatureDoesNotMatch: bad sig");
    }
}
