//! The typed AST of an ARM template expression.

use std::fmt;

/// One ARM expression: what sits between the brackets of `"[…]"`.
///
/// `Display` writes it back in ARM syntax (strings single-quoted with `''` escapes), so
/// `parse(&e.to_string()) == e`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expr {
    /// `'text'`
    Str(String),
    /// `12`, `-3`
    Int(i64),
    /// `name(args…)`; `name` keeps its spelling (ARM matches functions case-insensitively)
    /// and may be `namespace.member` for a user-defined function.
    Call {
        /// Function name as written.
        name: String,
        /// Arguments, unevaluated (so `if` can be lazy).
        args: Vec<Expr>,
        /// Character offset of the name in the expression.
        pos: usize,
    },
    /// `target.name`
    Member {
        /// What the property is read from.
        target: Box<Expr>,
        /// The property name.
        name: String,
    },
    /// `target[index]`
    Index {
        /// What is indexed.
        target: Box<Expr>,
        /// The index (an int for arrays, a string for objects).
        index: Box<Expr>,
    },
}

impl Expr {
    /// Calls everywhere in this expression, outermost first.
    pub fn calls(&self) -> Vec<(&str, &[Expr])> {
        let mut out = Vec::new();
        self.visit_calls(&mut out);
        out
    }

    fn visit_calls<'a>(&'a self, out: &mut Vec<(&'a str, &'a [Expr])>) {
        match self {
            Expr::Str(_) | Expr::Int(_) => {}
            Expr::Call { name, args, .. } => {
                out.push((name.as_str(), args.as_slice()));
                args.iter().for_each(|a| a.visit_calls(out));
            }
            Expr::Member { target, .. } => target.visit_calls(out),
            Expr::Index { target, index } => {
                target.visit_calls(out);
                index.visit_calls(out);
            }
        }
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Str(s) => write!(f, "'{}'", s.replace('\'', "''")),
            Expr::Int(i) => write!(f, "{i}"),
            Expr::Call { name, args, .. } => {
                write!(f, "{name}(")?;
                for (i, a) in args.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{a}")?;
                }
                f.write_str(")")
            }
            Expr::Member { target, name } => write!(f, "{target}.{name}"),
            Expr::Index { target, index } => write!(f, "{target}[{index}]"),
        }
    }
}

/// A JSON string of a template, classified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TemplateString {
    /// A plain string (including `[[…]` escapes, with one bracket removed).
    Literal(String),
    /// `[expression]`.
    Expression(Expr),
}
