//! Evaluation of expressions and of JSON trees holding expressions.
//!
//! The evaluator is synchronous. What needs I/O (`reference()`, `listKeys()`) goes through
//! [`References`]; an implementation that does not have the answer yet returns
//! [`EvalError::Pending`] naming the read to make, and the (async) caller makes it and
//! evaluates again. Evaluation is pure, so re-running it is safe.

use serde_json::{Map, Value};

use crate::context::DeploymentContext;
use crate::error::TemplateError;
use crate::expr::{Expr, TemplateString, classify};
use crate::functions;
use crate::resource_id::ResourceId;
use crate::template::UserFunctions;

/// A read the evaluator needs before it can go on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Fetch {
    /// GET the resource.
    Get {
        /// Which resource.
        id: ResourceId,
        /// With which api-version.
        api_version: String,
    },
    /// POST `listKeys`.
    ListKeys {
        /// Which resource.
        id: ResourceId,
        /// With which api-version.
        api_version: String,
    },
}

/// Why evaluation stopped.
#[derive(Clone, Debug)]
pub(crate) enum EvalError {
    /// A real error.
    Template(TemplateError),
    /// The caller must make this read, then evaluate again.
    Pending(Box<Fetch>),
    /// The value depends on deployment-time state this phase does not have (validate, or
    /// what-if for resources not deployed yet).
    Unresolved,
}

impl From<TemplateError> for EvalError {
    fn from(e: TemplateError) -> Self {
        EvalError::Template(e)
    }
}

pub(crate) type EvalResult<T = Value> = Result<T, EvalError>;

/// Shorthand for an evaluation error with ARM's message.
pub(crate) fn fail<T>(message: impl Into<String>) -> EvalResult<T> {
    Err(EvalError::Template(TemplateError::eval(message)))
}

/// Where an expression sits; decides which functions it may call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Site {
    /// A parameter's `defaultValue` (the only place for `utcNow`).
    ParameterDefault,
    /// A variable.
    Variable,
    /// A resource's name, type, apiVersion, dependsOn, copy count, scope.
    ResourceHeader,
    /// A resource's condition, body and a nested deployment's parameters.
    ResourceBody,
    /// An output.
    Output,
    /// The body of a user-defined function.
    Function,
}

impl Site {
    /// Whether `reference()` and `list*()` may be called here.
    pub(crate) fn allows_references(self) -> bool {
        matches!(self, Site::ResourceBody | Site::Output)
    }
}

/// Parameter and variable lookup (names are case-insensitive).
pub(crate) trait Names {
    /// `parameters(name)`.
    fn parameter(&self, name: &str) -> EvalResult;
    /// `variables(name)`.
    fn variable(&self, name: &str) -> EvalResult;
}

/// Deployed-resource lookup for `reference()` and `listKeys()`.
pub(crate) trait References: Sync {
    /// `reference(target, api_version?, 'full'?)`; `target` is a resource id or the name of a
    /// resource in the template.
    fn reference(&self, target: &str, api_version: Option<&str>, full: bool) -> EvalResult;
    /// `listKeys(id, api_version)`.
    fn list_keys(&self, id: &str, api_version: &str) -> EvalResult;
}

/// References for phases with no deployment state: everything is [`EvalError::Unresolved`].
pub(crate) struct NoReferences;

impl References for NoReferences {
    fn reference(&self, _: &str, _: Option<&str>, _: bool) -> EvalResult {
        Err(EvalError::Unresolved)
    }
    fn list_keys(&self, _: &str, _: &str) -> EvalResult {
        Err(EvalError::Unresolved)
    }
}

/// The copy loops an expression is inside.
#[derive(Clone, Debug, Default)]
pub(crate) struct Loops {
    /// The resource's own loop: name and index.
    pub resource: Option<(String, i64)>,
    /// Property (or variable) loops, innermost last.
    pub properties: Vec<(String, i64)>,
}

/// The fixed part of an evaluation: the deployment and the template's functions.
pub(crate) struct Env<'a> {
    /// The deployment's context.
    pub ctx: &'a DeploymentContext,
    /// What `deployment()` returns.
    pub deployment: &'a Value,
    /// User-defined functions.
    pub functions: &'a UserFunctions,
}

/// One evaluation: names, references, site and loops.
pub(crate) struct Evaluator<'a> {
    pub env: &'a Env<'a>,
    pub names: &'a dyn Names,
    pub refs: &'a dyn References,
    pub site: Site,
    pub loops: Loops,
    /// Keep strings whose value depends on unavailable state as written (what-if) instead of
    /// failing with [`EvalError::Unresolved`].
    pub lenient: bool,
}

impl<'a> Evaluator<'a> {
    /// Evaluates one expression.
    pub(crate) fn expr(&self, e: &Expr) -> EvalResult {
        match e {
            Expr::Str(s) => Ok(Value::String(s.clone())),
            Expr::Int(i) => Ok(Value::from(*i)),
            Expr::Member { target, name } => {
                let v = self.expr(target)?;
                member(&v, name)
            }
            Expr::Index { target, index } => {
                let v = self.expr(target)?;
                let i = self.expr(index)?;
                index_value(&v, &i)
            }
            Expr::Call { name, args, .. } => self.call(name, args),
        }
    }

    fn call(&self, name: &str, args: &[Expr]) -> EvalResult {
        let lower = name.to_ascii_lowercase();
        match lower.as_str() {
            "if" => {
                if args.len() != 3 {
                    return fail("The template language function 'if' must have '3' argument(s).");
                }
                let cond = self.expr(&args[0])?;
                match cond {
                    Value::Bool(true) => self.expr(&args[1]),
                    Value::Bool(false) => self.expr(&args[2]),
                    other => fail(format!(
                        "The template language function 'if' expects its first parameter to be of type 'Boolean'. The provided value is of type '{}'.",
                        type_name(&other)
                    )),
                }
            }
            "and" | "or" => {
                if args.len() < 2 {
                    return fail(format!(
                        "The template language function '{name}' must have at least '2' argument(s)."
                    ));
                }
                let stop = lower == "or";
                for a in args {
                    match self.expr(a)? {
                        Value::Bool(b) if b == stop => return Ok(Value::Bool(stop)),
                        Value::Bool(_) => {}
                        other => {
                            return fail(format!(
                                "The template language function '{name}' expects its parameters to be of type 'Boolean'. The provided value is of type '{}'.",
                                type_name(&other)
                            ));
                        }
                    }
                }
                Ok(Value::Bool(!stop))
            }
            _ if lower.contains('.') => {
                let values = args
                    .iter()
                    .map(|a| self.expr(a))
                    .collect::<EvalResult<Vec<_>>>()?;
                self.env.functions.call(self, name, values)
            }
            _ => {
                let values = args
                    .iter()
                    .map(|a| self.expr(a))
                    .collect::<EvalResult<Vec<_>>>()?;
                functions::call(self, &lower, name, values)
            }
        }
    }

    /// Evaluates one template string (a literal or `[expression]`).
    pub(crate) fn string(&self, s: &str, path: &str) -> EvalResult {
        match classify(s) {
            Ok(TemplateString::Literal(l)) => Ok(Value::String(l)),
            Ok(TemplateString::Expression(e)) => match self.expr(&e) {
                Err(EvalError::Unresolved) if self.lenient => Ok(Value::String(s.to_string())),
                other => other.map_err(|err| at(err, path)),
            },
            Err(p) => Err(EvalError::Template(TemplateError::ExpressionParse {
                path: path.to_string(),
                expression: s[1..s.len() - 1].to_string(),
                position: p.pos,
                message: p.message,
            })),
        }
    }

    /// Evaluates a JSON tree: expressions in strings (object keys included) and property
    /// `copy` loops.
    pub(crate) fn value(&self, v: &Value, path: &str) -> EvalResult {
        match v {
            Value::String(s) => self.string(s, path),
            Value::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, item)| self.value(item, &format!("{path}[{i}]")))
                .collect::<EvalResult<Vec<_>>>()
                .map(Value::Array),
            Value::Object(map) => {
                let mut out = Map::new();
                for (k, item) in map {
                    let child = join(path, k);
                    if k == "copy" && is_property_copy(item) {
                        self.property_copies(item, &child, &mut out)?;
                        continue;
                    }
                    let key = match self.string(k, &child)? {
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    out.insert(key, self.value(item, &child)?);
                }
                Ok(Value::Object(out))
            }
            other => Ok(other.clone()),
        }
    }

    fn property_copies(
        &self,
        loops: &Value,
        path: &str,
        out: &mut Map<String, Value>,
    ) -> EvalResult<()> {
        let Value::Array(loops) = loops else {
            return Ok(());
        };
        for (i, l) in loops.iter().enumerate() {
            let lpath = format!("{path}[{i}]");
            let name = match l.get("name").map(|n| self.value(n, &join(&lpath, "name"))) {
                Some(Ok(Value::String(n))) => n,
                Some(Err(e)) => return Err(e),
                _ => {
                    return Err(TemplateError::invalid(
                        lpath,
                        "The copy property must have a 'name' of type string.",
                    )
                    .into());
                }
            };
            let count = copy_count(self, l.get("count"), &lpath, &name)?;
            let input = l.get("input").cloned().unwrap_or(Value::Null);
            let mut items = Vec::with_capacity(count);
            for index in 0..count {
                let mut inner = Evaluator {
                    env: self.env,
                    names: self.names,
                    refs: self.refs,
                    site: self.site,
                    loops: self.loops.clone(),
                    lenient: self.lenient,
                };
                inner
                    .loops
                    .properties
                    .push((name.clone(), i64::try_from(index).unwrap_or(i64::MAX)));
                items.push(inner.value(&input, &join(&lpath, "input"))?);
            }
            out.insert(name, Value::Array(items));
        }
        Ok(())
    }
}

/// The largest copy count ARM accepts.
pub(crate) const MAX_COPY: i64 = 800;

/// Evaluates and checks a copy `count` (0..=800).
pub(crate) fn copy_count(
    ev: &Evaluator<'_>,
    count: Option<&Value>,
    path: &str,
    name: &str,
) -> EvalResult<usize> {
    let cpath = join(path, "count");
    let value = match count {
        Some(c) => ev.value(c, &cpath)?,
        None => Value::Null,
    };
    match value.as_i64() {
        Some(n) if (0..=MAX_COPY).contains(&n) => Ok(usize::try_from(n).unwrap_or(0)),
        _ => Err(TemplateError::InvalidCopyCount {
            path: cpath,
            name: name.to_string(),
            count: value.to_string(),
        }
        .into()),
    }
}

fn is_property_copy(v: &Value) -> bool {
    v.as_array().is_some_and(|items| {
        !items.is_empty()
            && items
                .iter()
                .all(|i| i.get("name").is_some() && i.get("input").is_some())
    })
}

/// `parent.child` (or `child` at the top).
pub(crate) fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn at(err: EvalError, path: &str) -> EvalError {
    match err {
        EvalError::Template(t) => EvalError::Template(t.at(path)),
        other => other,
    }
}

/// ARM's name of a JSON value's type, as in its error messages.
pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "Null",
        Value::Bool(_) => "Boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "Integer",
        Value::Number(_) => "Float",
        Value::String(_) => "String",
        Value::Array(_) => "Array",
        Value::Object(_) => "Object",
    }
}

/// `value.name`: exact match first, then case-insensitive (ARM property names are).
pub(crate) fn member(v: &Value, name: &str) -> EvalResult {
    let Value::Object(map) = v else {
        return fail(format!(
            "The language expression property '{name}' can't be evaluated, property name must be a string and the value must be an object. The value is of type '{}'.",
            type_name(v)
        ));
    };
    if let Some(found) = map.get(name) {
        return Ok(found.clone());
    }
    if let Some((_, found)) = map.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)) {
        return Ok(found.clone());
    }
    let available: Vec<&str> = map.keys().map(String::as_str).collect();
    fail(format!(
        "The language expression property '{name}' doesn't exist, available properties are '{}'.",
        available.join(", ")
    ))
}

fn index_value(v: &Value, i: &Value) -> EvalResult {
    match (v, i) {
        (Value::Array(items), Value::Number(n)) => {
            let idx = n.as_i64().unwrap_or(-1);
            usize::try_from(idx)
                .ok()
                .and_then(|u| items.get(u))
                .cloned()
                .map_or_else(
                    || {
                        fail(format!(
                            "The language expression property array index '{idx}' is out of bounds."
                        ))
                    },
                    Ok,
                )
        }
        (Value::Object(_), Value::String(name)) => member(v, name),
        _ => fail(format!(
            "The language expression property '{i}' can't be evaluated on a value of type '{}'.",
            type_name(v)
        )),
    }
}
