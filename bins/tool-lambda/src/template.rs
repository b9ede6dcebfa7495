//! Path templates (`/tickets/{id}`) and how a value fills a placeholder: percent-encoded
//! so that no value can add, remove or leave a path segment.
//!
//! Every byte outside RFC 3986's unreserved set (`A-Z a-z 0-9 - . _ ~`) is encoded, `/`
//! and `%` included, so a value stays inside its segment; a value that is empty, or a
//! filled segment that is `.` or `..`, is refused, because servers and proxies resolve
//! dot segments (and some decode `%2E`) before routing.

use thiserror::Error;

/// Longer templates are a configuration mistake, not a path.
const MAX_TEMPLATE_BYTES: usize = 1024;
/// A filled path longer than this is refused (most servers stop at 8 KiB of request line).
pub const MAX_PATH_BYTES: usize = 4096;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum TemplateError {
    #[error("the path must start with `/` and be at most 1024 bytes")]
    Shape,
    #[error(
        "the path may hold only letters, digits, `-._~!$&'()*+,;=:@/` and `{{name}}` placeholders"
    )]
    Character,
    #[error("the path has an empty, `.` or `..` segment")]
    Segment,
    #[error("a placeholder is not `{{name}}` with a name of letters, digits, `_`, `-` or `.`")]
    Placeholder,
}

/// Why a value could not fill a template (refused before any call).
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum FillError {
    #[error("parameter `{0}` is missing")]
    Missing(String),
    #[error("parameter `{0}` would change the path (empty, `.` or `..`)")]
    ChangesPath(String),
    #[error("the path is longer than 4096 bytes")]
    TooLong,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Placeholder(String),
}

/// A parsed path template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    raw: String,
    parts: Vec<Part>,
}

impl Template {
    pub fn parse(raw: &str) -> Result<Template, TemplateError> {
        if !raw.starts_with('/') || raw.len() > MAX_TEMPLATE_BYTES {
            return Err(TemplateError::Shape);
        }
        let literal_ok = |c: char| c.is_ascii_alphanumeric() || "-._~!$&'()*+,;=:@/".contains(c);
        let mut parts = Vec::new();
        let mut rest = raw;
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix('{') {
                let end = after.find('}').ok_or(TemplateError::Placeholder)?;
                let name = &after[..end];
                let name_ok = !name.is_empty()
                    && name.len() <= 100
                    && name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c));
                if !name_ok {
                    return Err(TemplateError::Placeholder);
                }
                parts.push(Part::Placeholder(name.to_string()));
                rest = &after[end + 1..];
            } else {
                let end = rest.find('{').unwrap_or(rest.len());
                let literal = &rest[..end];
                if literal.contains('}') {
                    return Err(TemplateError::Placeholder);
                }
                if !literal.chars().all(literal_ok) {
                    return Err(TemplateError::Character);
                }
                parts.push(Part::Literal(literal.to_string()));
                rest = &rest[end..];
            }
        }
        // Literal segments: no dot segments; no empty ones but a trailing slash.
        let segments: Vec<&str> = raw[1..].split('/').collect();
        let last = segments.len() - 1;
        for (i, segment) in segments.iter().enumerate() {
            if *segment == "." || *segment == ".." || (segment.is_empty() && i != last) {
                return Err(TemplateError::Segment);
            }
        }
        Ok(Template {
            raw: raw.to_string(),
            parts,
        })
    }

    /// The placeholders' names, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Placeholder(name) => Some(name.as_str()),
            Part::Literal(_) => None,
        })
    }

    /// The path with every placeholder filled by `value_of(name)`, percent-encoded.
    pub fn fill<'v>(
        &self,
        value_of: impl Fn(&str) -> Option<&'v str>,
    ) -> Result<String, FillError> {
        let mut path = String::new();
        for part in &self.parts {
            match part {
                Part::Literal(text) => path.push_str(text),
                Part::Placeholder(name) => {
                    let value = value_of(name).ok_or_else(|| FillError::Missing(name.clone()))?;
                    if value.is_empty() {
                        return Err(FillError::ChangesPath(name.clone()));
                    }
                    encode_into(value, &mut path);
                }
            }
            if path.len() > MAX_PATH_BYTES {
                return Err(FillError::TooLong);
            }
        }
        // Values may meet literals (`/{a}{b}`, `/x{a}`): check the result, not the parts.
        if path[1..].split('/').any(|s| s == "." || s == "..") {
            let name = self.names().next().unwrap_or_default().to_string();
            return Err(FillError::ChangesPath(name));
        }
        Ok(path)
    }
}

/// Percent-encode every byte outside RFC 3986's unreserved characters.
pub fn encode_into(value: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in value.as_bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0x0f)]));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fill(template: &str, pairs: &[(&str, &str)]) -> Result<String, FillError> {
        Template::parse(template)
            .unwrap()
            .fill(|name| pairs.iter().find(|(n, _)| *n == name).map(|(_, v)| *v))
    }

    #[test]
    fn values_are_percent_encoded_and_stay_in_their_segment() {
        assert_eq!(
            fill("/tickets/{id}", &[("id", "TCK-1001")]).unwrap(),
            "/tickets/TCK-1001"
        );
        assert_eq!(
            fill("/tickets/{id}", &[("id", "../../admin")]).unwrap(),
            "/tickets/..%2F..%2Fadmin"
        );
        assert_eq!(
            fill("/u/{name}/x", &[("name", "a b/c?d#e%2F&é")]).unwrap(),
            "/u/a%20b%2Fc%3Fd%23e%252F%26%C3%A9/x"
        );
        assert_eq!(
            fill("/f/{a}.{b}", &[("a", "v1"), ("b", "json")]).unwrap(),
            "/f/v1.json"
        );
    }

    #[test]
    fn values_that_would_change_the_path_are_refused() {
        for (template, pairs) in [
            ("/tickets/{id}", vec![("id", "..")]),
            ("/tickets/{id}", vec![("id", ".")]),
            ("/tickets/{id}", vec![("id", "")]),
            ("/t/{a}{b}", vec![("a", "."), ("b", ".")]),
            ("/t/.{a}", vec![("a", ".")]),
        ] {
            assert!(
                matches!(fill(template, &pairs), Err(FillError::ChangesPath(_))),
                "{template} {pairs:?}"
            );
        }
        assert_eq!(
            fill("/tickets/{id}", &[]),
            Err(FillError::Missing("id".into()))
        );
        let long = "x".repeat(5000);
        assert_eq!(
            fill("/t/{a}", &[("a", long.as_str())]),
            Err(FillError::TooLong)
        );
    }

    #[test]
    fn templates_are_strict() {
        for bad in [
            "tickets", "/a/../b", "/a/./b", "/a//b", "/a?b=1", "/a#f", "/a%2Fb", "/a\\b", "/a b",
            "/{}", "/{a", "/a}", "/{a/b}",
        ] {
            assert!(Template::parse(bad).is_err(), "{bad}");
        }
        for good in [
            "/",
            "/tickets",
            "/tickets/",
            "/tickets/{id}",
            "/a:b@c/{x_y}-{z.w}",
        ] {
            assert!(Template::parse(good).is_ok(), "{good}");
        }
        let t = Template::parse("/t/{a}/u/{b}").unwrap();
        assert_eq!(t.names().collect::<Vec<_>>(), ["a", "b"]);
    }
}
