//! The expression language: lexer, parser and AST. Evaluation is internal to the crate.

mod ast;
mod lexer;
mod parser;

pub use ast::{Expr, TemplateString};
pub use lexer::{LexError, Token, TokenKind, tokenize};
pub use parser::{ParseError, classify, is_expression, parse};
