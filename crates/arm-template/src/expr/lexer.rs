//! Tokens of the ARM expression language.

/// What a token is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokenKind {
    /// `(`
    LeftParen,
    /// `)`
    RightParen,
    /// `[`
    LeftBracket,
    /// `]`
    RightBracket,
    /// `,`
    Comma,
    /// `.`
    Dot,
    /// A name: function or property.
    Identifier(String),
    /// A single-quoted string, unescaped.
    Str(String),
    /// An integer literal (possibly negative).
    Int(i64),
    /// End of input.
    End,
}

impl TokenKind {
    /// ARM's name for the token kind, as used in its parse errors.
    pub fn describe(&self) -> &'static str {
        match self {
            TokenKind::LeftParen => "LeftParenthesis",
            TokenKind::RightParen => "RightParenthesis",
            TokenKind::LeftBracket => "LeftSquareBracket",
            TokenKind::RightBracket => "RightSquareBracket",
            TokenKind::Comma => "Comma",
            TokenKind::Dot => "Dot",
            TokenKind::Identifier(_) => "Identifier",
            TokenKind::Str(_) => "String",
            TokenKind::Int(_) => "Integer",
            TokenKind::End => "EndOfData",
        }
    }
}

/// A token and the character offset where it starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    /// The token.
    pub kind: TokenKind,
    /// Character offset in the expression.
    pub pos: usize,
}

/// A lexing failure: message and character offset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LexError {
    /// What is wrong.
    pub message: String,
    /// Character offset.
    pub pos: usize,
}

/// Splits an expression (the text between the outer brackets) into tokens, ending with
/// [`TokenKind::End`].
pub fn tokenize(text: &str) -> Result<Vec<Token>, LexError> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        let simple = match c {
            '(' => Some(TokenKind::LeftParen),
            ')' => Some(TokenKind::RightParen),
            '[' => Some(TokenKind::LeftBracket),
            ']' => Some(TokenKind::RightBracket),
            ',' => Some(TokenKind::Comma),
            '.' => Some(TokenKind::Dot),
            _ => None,
        };
        if let Some(kind) = simple {
            tokens.push(Token { kind, pos: start });
            i += 1;
            continue;
        }
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c == '\'' {
            let mut s = String::new();
            i += 1;
            loop {
                match chars.get(i) {
                    None => {
                        return Err(LexError {
                            message: "the string literal is not terminated".into(),
                            pos: start,
                        });
                    }
                    Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                        s.push('\'');
                        i += 2;
                    }
                    Some('\'') => {
                        i += 1;
                        break;
                    }
                    Some(other) => {
                        s.push(*other);
                        i += 1;
                    }
                }
            }
            tokens.push(Token {
                kind: TokenKind::Str(s),
                pos: start,
            });
            continue;
        }
        if c.is_ascii_digit() || (c == '-' && chars.get(i + 1).is_some_and(char::is_ascii_digit)) {
            i += 1;
            while chars.get(i).is_some_and(char::is_ascii_digit) {
                i += 1;
            }
            let literal: String = chars[start..i].iter().collect();
            let value = literal.parse::<i64>().map_err(|_| LexError {
                message: format!("the integer literal '{literal}' is out of range"),
                pos: start,
            })?;
            tokens.push(Token {
                kind: TokenKind::Int(value),
                pos: start,
            });
            continue;
        }
        if c.is_alphabetic() || c == '_' || c == '$' {
            i += 1;
            while chars
                .get(i)
                .is_some_and(|c| c.is_alphanumeric() || *c == '_' || *c == '$')
            {
                i += 1;
            }
            tokens.push(Token {
                kind: TokenKind::Identifier(chars[start..i].iter().collect()),
                pos: start,
            });
            continue;
        }
        return Err(LexError {
            message: format!("the character '{c}' is not expected"),
            pos: start,
        });
    }
    tokens.push(Token {
        kind: TokenKind::End,
        pos: chars.len(),
    });
    Ok(tokens)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<TokenKind> {
        tokenize(text)
            .unwrap()
            .into_iter()
            .map(|t| t.kind)
            .collect()
    }

    #[test]
    fn tokens_of_a_call() {
        assert_eq!(
            kinds("f('a''b', -12).x[0]"),
            vec![
                TokenKind::Identifier("f".into()),
                TokenKind::LeftParen,
                TokenKind::Str("a'b".into()),
                TokenKind::Comma,
                TokenKind::Int(-12),
                TokenKind::RightParen,
                TokenKind::Dot,
                TokenKind::Identifier("x".into()),
                TokenKind::LeftBracket,
                TokenKind::Int(0),
                TokenKind::RightBracket,
                TokenKind::End,
            ]
        );
    }

    #[test]
    fn unterminated_string_points_at_its_start() {
        let e = tokenize("concat('abc").unwrap_err();
        assert_eq!(e.pos, 7);
    }

    #[test]
    fn stray_character() {
        assert_eq!(tokenize("a + b").unwrap_err().pos, 2);
    }
}
