//! Recursive-descent parser for ARM expressions.
//!
//! Grammar (ARM's, as accepted by Azure):
//! ```text
//! expression := primary ( '.' identifier | '[' expression ']' )*
//! primary    := string | integer | identifier ( '.' identifier )? '(' arguments? ')'
//! arguments  := expression ( ',' expression )*
//! ```
//! A bare identifier is not a value: `true`, `false` and `null` are the functions `true()`,
//! `false()` and `null()`.

use super::ast::{Expr, TemplateString};
use super::lexer::{Token, TokenKind, tokenize};

/// A parse failure: ARM-style message and character offset in the expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// What was expected and found.
    pub message: String,
    /// Character offset in the expression text.
    pub pos: usize,
}

/// Deepest nesting accepted; deeper input is refused rather than risking the stack.
const MAX_DEPTH: usize = 128;

/// Parses the text between the outer brackets of `"[…]"`.
pub fn parse(text: &str) -> Result<Expr, ParseError> {
    let tokens = tokenize(text).map_err(|e| ParseError {
        message: e.message,
        pos: e.pos,
    })?;
    let mut p = Parser { tokens, at: 0 };
    let expr = p.expression(0)?;
    p.expect_end()?;
    Ok(expr)
}

/// Classifies a JSON string of a template: `"[…]"` is an expression, `"[[…"` a literal with one
/// bracket removed, anything else a literal.
pub fn classify(s: &str) -> Result<TemplateString, ParseError> {
    if let Some(rest) = s.strip_prefix("[[") {
        return Ok(TemplateString::Literal(format!("[{rest}")));
    }
    match s.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
        Some(inner) => parse(inner).map(TemplateString::Expression),
        None => Ok(TemplateString::Literal(s.to_string())),
    }
}

/// Whether a JSON string is an expression (`[…]`, not `[[…`).
pub fn is_expression(s: &str) -> bool {
    s.starts_with('[') && !s.starts_with("[[") && s.ends_with(']')
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> &Token {
        // `tokenize` always ends with `End`, and `next` never moves past it.
        &self.tokens[self.at.min(self.tokens.len() - 1)]
    }

    fn next(&mut self) -> Token {
        let t = self.peek().clone();
        if t.kind != TokenKind::End {
            self.at += 1;
        }
        t
    }

    fn unexpected(&self, expected: &str) -> ParseError {
        let t = self.peek();
        ParseError {
            message: format!(
                "expected token '{expected}' and actual '{}'",
                t.kind.describe()
            ),
            pos: t.pos,
        }
    }

    fn expect(&mut self, kind: TokenKind) -> Result<Token, ParseError> {
        if self.peek().kind == kind {
            Ok(self.next())
        } else {
            Err(self.unexpected(kind.describe()))
        }
    }

    fn expect_end(&self) -> Result<(), ParseError> {
        if self.peek().kind == TokenKind::End {
            Ok(())
        } else {
            Err(self.unexpected("EndOfData"))
        }
    }

    fn identifier(&mut self) -> Result<String, ParseError> {
        match self.peek().kind.clone() {
            TokenKind::Identifier(name) => {
                self.next();
                Ok(name)
            }
            _ => Err(self.unexpected("Identifier")),
        }
    }

    fn expression(&mut self, depth: usize) -> Result<Expr, ParseError> {
        if depth > MAX_DEPTH {
            return Err(ParseError {
                message: format!("the expression is nested more than {MAX_DEPTH} levels deep"),
                pos: self.peek().pos,
            });
        }
        let mut expr = self.primary(depth)?;
        loop {
            match self.peek().kind {
                TokenKind::Dot => {
                    self.next();
                    let name = self.identifier()?;
                    expr = Expr::Member {
                        target: Box::new(expr),
                        name,
                    };
                }
                TokenKind::LeftBracket => {
                    self.next();
                    let index = self.expression(depth + 1)?;
                    self.expect(TokenKind::RightBracket)?;
                    expr = Expr::Index {
                        target: Box::new(expr),
                        index: Box::new(index),
                    };
                }
                _ => return Ok(expr),
            }
        }
    }

    fn primary(&mut self, depth: usize) -> Result<Expr, ParseError> {
        let token = self.peek().clone();
        match token.kind {
            TokenKind::Str(s) => {
                self.next();
                Ok(Expr::Str(s))
            }
            TokenKind::Int(i) => {
                self.next();
                Ok(Expr::Int(i))
            }
            TokenKind::Identifier(first) => {
                self.next();
                let mut name = first;
                if self.peek().kind == TokenKind::Dot {
                    self.next();
                    let member = self.identifier()?;
                    name = format!("{name}.{member}");
                }
                self.expect(TokenKind::LeftParen)?;
                let mut args = Vec::new();
                if self.peek().kind != TokenKind::RightParen {
                    loop {
                        args.push(self.expression(depth + 1)?);
                        if self.peek().kind == TokenKind::Comma {
                            self.next();
                        } else {
                            break;
                        }
                    }
                }
                self.expect(TokenKind::RightParen)?;
                Ok(Expr::Call {
                    name,
                    args,
                    pos: token.pos,
                })
            }
            _ => Err(self.unexpected("Identifier")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(name: &str, args: Vec<Expr>, pos: usize) -> Expr {
        Expr::Call {
            name: name.into(),
            args,
            pos,
        }
    }

    #[test]
    fn nested_calls_members_and_indexes() {
        let e = parse("func(arg(), 'str''ing', 12, true()).prop[0]['x']").unwrap();
        let inner = call(
            "func",
            vec![
                call("arg", vec![], 5),
                Expr::Str("str'ing".into()),
                Expr::Int(12),
                call("true", vec![], 28),
            ],
            0,
        );
        let expected = Expr::Index {
            target: Box::new(Expr::Index {
                target: Box::new(Expr::Member {
                    target: Box::new(inner),
                    name: "prop".into(),
                }),
                index: Box::new(Expr::Int(0)),
            }),
            index: Box::new(Expr::Str("x".into())),
        };
        assert_eq!(e, expected);
    }

    #[test]
    fn user_function_names_keep_their_namespace() {
        let e = parse("ns.fn(1)").unwrap();
        assert!(matches!(e, Expr::Call { ref name, .. } if name == "ns.fn"));
    }

    #[test]
    fn classify_strings() {
        assert_eq!(
            classify("[[not an expression]").unwrap(),
            TemplateString::Literal("[not an expression]".into())
        );
        assert_eq!(
            classify("plain").unwrap(),
            TemplateString::Literal("plain".into())
        );
        assert_eq!(
            classify("[half").unwrap(),
            TemplateString::Literal("[half".into())
        );
        assert!(matches!(
            classify("[f()]").unwrap(),
            TemplateString::Expression(_)
        ));
    }

    #[test]
    fn errors_carry_positions() {
        let cases = [
            (
                "concat('a' 'b')",
                11,
                "expected token 'RightParenthesis' and actual 'String'",
            ),
            (
                "concat('a',)",
                11,
                "expected token 'Identifier' and actual 'RightParenthesis'",
            ),
            (
                "f() g()",
                4,
                "expected token 'EndOfData' and actual 'Identifier'",
            ),
            (
                "bare",
                4,
                "expected token 'LeftParenthesis' and actual 'EndOfData'",
            ),
            (
                "f().",
                4,
                "expected token 'Identifier' and actual 'EndOfData'",
            ),
            (
                "f()[0",
                5,
                "expected token 'RightSquareBracket' and actual 'EndOfData'",
            ),
            ("", 0, "expected token 'Identifier' and actual 'EndOfData'"),
        ];
        for (text, pos, message) in cases {
            let e = parse(text).unwrap_err();
            assert_eq!((e.pos, e.message.as_str()), (pos, message), "{text}");
        }
    }

    #[test]
    fn display_round_trips() {
        for text in [
            "concat('a''b', parameters('x'))",
            "reference(resourceId('A/b', 'n'), '2020-01-01', 'full').identity.principalId",
            "variables('parts')[-1]",
            "ns.f(createArray(1, 2)[0])",
        ] {
            let e = parse(text).unwrap();
            assert_eq!(e.to_string(), text);
            assert_eq!(parse(&e.to_string()).unwrap(), e);
        }
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowed() {
        let text = format!("{}1{}", "f(".repeat(500), ")".repeat(500));
        assert!(parse(&text).is_err());
    }
}
