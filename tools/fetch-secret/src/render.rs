//! Turning secrets into output: fields of JSON secrets, environment variables, and
//! shell- and dotenv-safe quoting. Nothing here ever puts a value in an error message:
//! errors name keys only.

use base64::Engine;
use common::docs::Secret;
use common::{Error, Result};
use serde_json::Value;

/// The secret's value as bytes: the string, or the decoded binary.
pub fn raw_value(secret: &Secret) -> Result<Vec<u8>> {
    if let Some(s) = &secret.secret_string {
        return Ok(s.as_bytes().to_vec());
    }
    if let Some(b) = &secret.secret_binary {
        return base64::engine::general_purpose::STANDARD
            .decode(b)
            .map_err(|_| Error::internal("secret_binary is not base64"));
    }
    Err(Error::not_found(format!(
        "secret `{}` has no value",
        secret.name
    )))
}

/// The secret string parsed as a JSON object, if it is one.
fn json_object(secret: &Secret) -> Option<serde_json::Map<String, Value>> {
    match serde_json::from_str(secret.secret_string.as_deref()?) {
        Ok(Value::Object(map)) => Some(map),
        _ => None,
    }
}

fn key_list(map: &serde_json::Map<String, Value>) -> String {
    let keys: Vec<&str> = map.keys().map(String::as_str).collect();
    if keys.is_empty() {
        "none".to_string()
    } else {
        keys.join(", ")
    }
}

/// One field of a JSON secret; `a.b` walks into nested objects.
pub fn field(secret: &Secret, path: &str) -> Result<Value> {
    let root = json_object(secret).ok_or_else(|| {
        Error::usage(format!(
            "--field needs a JSON object secret, and `{}` is not one",
            secret.name
        ))
        .hint("drop --field to print the whole value")
    })?;
    let mut current = &root;
    let parts: Vec<&str> = path.split('.').collect();
    for (i, part) in parts.iter().enumerate() {
        let found = current.get(*part).ok_or_else(|| {
            let at = if i == 0 {
                String::new()
            } else {
                format!(" under `{}`", parts[..i].join("."))
            };
            Error::not_found(format!(
                "secret `{}` has no field `{part}`{at}",
                secret.name
            ))
            .hint(format!("its keys{at} are: {}", key_list(current)))
        })?;
        if i + 1 == parts.len() {
            return Ok(found.clone());
        }
        current = found.as_object().ok_or_else(|| {
            Error::not_found(format!(
                "field `{}` of secret `{}` is not an object",
                parts[..=i].join("."),
                secret.name
            ))
        })?;
    }
    unreachable!("split yields at least one part")
}

/// A field's value as text: strings as they are, anything else as compact JSON.
pub fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `db-password` → `DB_PASSWORD`; a leading digit gets a `_` in front.
pub fn var_name(prefix: &str, key: &str) -> String {
    let mut name: String = format!("{prefix}{key}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert(0, '_');
    }
    name
}

/// The variables a secret becomes: each top-level key of a JSON object secret, or the
/// whole string under `env_name`.
pub fn variables(
    secret: &Secret,
    prefix: &str,
    env_name: Option<&str>,
) -> Result<Vec<(String, String)>> {
    if let Some(name) = env_name {
        let value = secret
            .secret_string
            .clone()
            .ok_or_else(|| binary_error(secret))?;
        return Ok(vec![(var_name("", name), value)]);
    }
    if let Some(map) = json_object(secret) {
        return Ok(map
            .iter()
            .map(|(k, v)| (var_name(prefix, k), text(v)))
            .collect());
    }
    if secret.secret_binary.is_some() {
        return Err(binary_error(secret));
    }
    Err(Error::usage(format!(
        "secret `{}` is a plain string, not a JSON object",
        secret.name
    ))
    .hint("name its variable with --env NAME"))
}

fn binary_error(secret: &Secret) -> Error {
    Error::usage(format!(
        "secret `{}` is binary and cannot be an environment variable",
        secret.name
    ))
    .hint("use --output raw to write its bytes")
}

/// `NAME=value` for dotenv files: single quotes when that is safe, else double quotes
/// with `\`, `"`, `$` and newlines escaped.
pub fn dotenv_line(name: &str, value: &str) -> String {
    if !value.contains(['\'', '\n', '\r']) {
        return format!("{name}='{value}'\n");
    }
    let mut escaped = String::with_capacity(value.len() + 2);
    for c in value.chars() {
        match c {
            '\\' => escaped.push_str(r"\\"),
            '"' => escaped.push_str("\\\""),
            '$' => escaped.push_str(r"\$"),
            '\n' => escaped.push_str(r"\n"),
            '\r' => escaped.push_str(r"\r"),
            c => escaped.push(c),
        }
    }
    format!("{name}=\"{escaped}\"\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(s: &str) -> Secret {
        Secret {
            name: "app".into(),
            arn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:app-AbCdEf".into(),
            version_id: "v1".into(),
            version_stages: vec!["AWSCURRENT".into()],
            created_date: None,
            secret_string: Some(s.into()),
            secret_binary: None,
            caller: None,
        }
    }

    #[test]
    fn names() {
        assert_eq!(var_name("", "db-password"), "DB_PASSWORD");
        assert_eq!(var_name("APP_", "user.name"), "APP_USER_NAME");
        assert_eq!(var_name("", "1st"), "_1ST");
    }

    #[test]
    fn fields_and_missing_fields() {
        let s = secret(r#"{"db":{"password":"pw","port":5432},"user":"u"}"#);
        assert_eq!(field(&s, "user").unwrap(), Value::from("u"));
        assert_eq!(text(&field(&s, "db.port").unwrap()), "5432");
        let err = field(&s, "db.pass").unwrap_err();
        assert_eq!(err.code(), common::ExitCode::NotFound);
        assert_eq!(
            err.hint_text(),
            Some("its keys under `db` are: password, port")
        );
        assert!(!format!("{err} {:?}", err.hint_text()).contains("pw"));
    }

    #[test]
    fn quoting() {
        assert_eq!(
            common::output::shell_export("A", "it's $HOME"),
            "export A='it'\\''s $HOME'\n"
        );
        assert_eq!(dotenv_line("A", "plain $x"), "A='plain $x'\n");
        assert_eq!(
            dotenv_line("A", "it's\n\"$x\""),
            "A=\"it's\\n\\\"\\$x\\\"\"\n"
        );
    }

    #[test]
    fn variables_of_each_kind() {
        let vars = variables(&secret(r#"{"user":"u","port":1}"#), "DB_", None).unwrap();
        assert_eq!(
            vars,
            vec![
                ("DB_PORT".into(), "1".into()),
                ("DB_USER".into(), "u".into())
            ]
        );
        assert_eq!(
            variables(&secret("plain"), "", Some("token")).unwrap(),
            vec![("TOKEN".into(), "plain".into())]
        );
        assert_eq!(
            variables(&secret("plain"), "", None).unwrap_err().code(),
            common::ExitCode::Usage
        );
    }
}
