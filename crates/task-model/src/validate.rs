//! Input rules shared by every store and by the HTTP API.

use thiserror::Error;

/// Longest title accepted, in characters, after trimming.
pub const MAX_TITLE_CHARS: usize = 200;
/// Longest description accepted, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 2_000;

/// Why client input was refused. The message is fit to show to the client.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ValidationError {
    #[error("title is required and must not be blank")]
    EmptyTitle,
    #[error("title is {len} characters long; at most {max} are allowed")]
    TitleTooLong { len: usize, max: usize },
    #[error("description is {len} characters long; at most {max} are allowed")]
    DescriptionTooLong { len: usize, max: usize },
    #[error("{field} must not contain control characters")]
    ControlCharacter { field: &'static str },
}

pub(crate) fn validate_title(raw: &str) -> Result<&str, ValidationError> {
    let title = raw.trim();
    if title.is_empty() {
        return Err(ValidationError::EmptyTitle);
    }
    let len = title.chars().count();
    if len > MAX_TITLE_CHARS {
        return Err(ValidationError::TitleTooLong {
            len,
            max: MAX_TITLE_CHARS,
        });
    }
    if title.chars().any(char::is_control) {
        return Err(ValidationError::ControlCharacter { field: "title" });
    }
    Ok(title)
}

pub(crate) fn validate_description(raw: &str) -> Result<&str, ValidationError> {
    let len = raw.chars().count();
    if len > MAX_DESCRIPTION_CHARS {
        return Err(ValidationError::DescriptionTooLong {
            len,
            max: MAX_DESCRIPTION_CHARS,
        });
    }
    // Newlines and tabs are fine in a description; other control characters are not.
    if raw
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(ValidationError::ControlCharacter {
            field: "description",
        });
    }
    Ok(raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles() {
        assert_eq!(validate_title("  hi "), Ok("hi"));
        assert_eq!(validate_title("   "), Err(ValidationError::EmptyTitle));
        assert_eq!(validate_title(""), Err(ValidationError::EmptyTitle));
        let at_limit = "é".repeat(MAX_TITLE_CHARS);
        assert_eq!(validate_title(&at_limit), Ok(at_limit.as_str()));
        assert_eq!(
            validate_title(&"x".repeat(MAX_TITLE_CHARS + 1)),
            Err(ValidationError::TitleTooLong {
                len: MAX_TITLE_CHARS + 1,
                max: MAX_TITLE_CHARS
            })
        );
        assert!(matches!(
            validate_title("a\u{7}b"),
            Err(ValidationError::ControlCharacter { field: "title" })
        ));
    }

    #[test]
    fn descriptions() {
        assert_eq!(validate_description(""), Ok(""));
        assert_eq!(validate_description("line\nline\t"), Ok("line\nline\t"));
        let at_limit = "é".repeat(MAX_DESCRIPTION_CHARS);
        assert_eq!(validate_description(&at_limit), Ok(at_limit.as_str()));
        assert!(matches!(
            validate_description(&"d".repeat(MAX_DESCRIPTION_CHARS + 1)),
            Err(ValidationError::DescriptionTooLong { .. })
        ));
        assert!(validate_description("\u{0}").is_err());
    }

    #[test]
    fn messages_are_readable() {
        assert_eq!(
            ValidationError::EmptyTitle.to_string(),
            "title is required and must not be blank"
        );
    }
}
