//! Parameters and variables: binding supplied values (`{"name": {"value": …}}`), defaults
//! (expressions allowed, evaluated lazily so defaults may use other parameters), the type and
//! rule checks ARM makes, and the evaluated variables. The result is a [`Scope`], immutable
//! for the rest of the deployment.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use crate::error::TemplateError;
use crate::eval::{
    Env, EvalError, EvalResult, Evaluator, Loops, Names, NoReferences, Site, type_name,
};
use crate::secure::{Redactor, SecureValue};
use crate::template::{ParameterDef, Template};

/// A parameter's or output's declared type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamType {
    /// `string`
    String,
    /// `securestring`
    SecureString,
    /// `int`
    Int,
    /// `bool`
    Bool,
    /// `object`
    Object,
    /// `secureObject`
    SecureObject,
    /// `array`
    Array,
}

impl ParamType {
    /// Parses a type name (case-insensitive).
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.to_ascii_lowercase().as_str() {
            "string" => ParamType::String,
            "securestring" => ParamType::SecureString,
            "int" => ParamType::Int,
            "bool" => ParamType::Bool,
            "object" => ParamType::Object,
            "secureobject" => ParamType::SecureObject,
            "array" => ParamType::Array,
            _ => return None,
        })
    }

    /// Whether values of this type are secure.
    pub fn is_secure(self) -> bool {
        matches!(self, ParamType::SecureString | ParamType::SecureObject)
    }

    /// The name ARM echoes in deployment records (`String`, `SecureString`, …).
    pub fn wire_name(self) -> &'static str {
        match self {
            ParamType::String => "String",
            ParamType::SecureString => "SecureString",
            ParamType::Int => "Int",
            ParamType::Bool => "Bool",
            ParamType::Object => "Object",
            ParamType::SecureObject => "SecureObject",
            ParamType::Array => "Array",
        }
    }

    fn expected(self) -> &'static str {
        match self {
            ParamType::String | ParamType::SecureString => "String",
            ParamType::Int => "Integer",
            ParamType::Bool => "Boolean",
            ParamType::Object | ParamType::SecureObject => "Object",
            ParamType::Array => "Array",
        }
    }

    pub(crate) fn accepts(self, v: &Value) -> bool {
        match self {
            ParamType::String | ParamType::SecureString => v.is_string(),
            ParamType::Int => v.is_i64() || v.is_u64(),
            ParamType::Bool => v.is_boolean(),
            ParamType::Object | ParamType::SecureObject => v.is_object(),
            ParamType::Array => v.is_array(),
        }
    }
}

/// A bound parameter value.
#[derive(Clone, Debug)]
pub(crate) enum Bound {
    Plain(Value),
    Secure(SecureValue),
}

impl Bound {
    pub(crate) fn value(&self) -> &Value {
        match self {
            Bound::Plain(v) => v,
            Bound::Secure(s) => s.expose(),
        }
    }
}

/// Parameters and variables of one (possibly nested) template, fully evaluated.
#[derive(Clone)]
pub(crate) struct Scope {
    /// By lower-cased name: declared name, type, value.
    pub params: BTreeMap<String, (String, ParamType, Bound)>,
    /// By lower-cased name.
    pub variables: BTreeMap<String, Value>,
    /// Every secure value bound here.
    pub redactor: Redactor,
    /// Parameters (`p:name`) and variables (`v:name`) whose values are not known in this
    /// phase (what-if: they come from resources not deployed yet).
    pub unresolved: BTreeSet<String>,
}

/// Names and types only: values may derive from secure parameters.
impl std::fmt::Debug for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scope")
            .field(
                "params",
                &self
                    .params
                    .values()
                    .map(|(n, t, _)| (n, t))
                    .collect::<Vec<_>>(),
            )
            .field("variables", &self.variables.keys().collect::<Vec<_>>())
            .field("redactor", &self.redactor)
            .finish_non_exhaustive()
    }
}

impl Names for Scope {
    fn parameter(&self, name: &str) -> EvalResult {
        if self
            .unresolved
            .contains(&format!("p:{}", name.to_ascii_lowercase()))
        {
            return Err(EvalError::Unresolved);
        }
        self.params
            .get(&name.to_ascii_lowercase())
            .map(|(_, _, b)| b.value().clone())
            .ok_or_else(|| not_found("parameter", name))
    }

    fn variable(&self, name: &str) -> EvalResult {
        if self
            .unresolved
            .contains(&format!("v:{}", name.to_ascii_lowercase()))
        {
            return Err(EvalError::Unresolved);
        }
        self.variables
            .get(&name.to_ascii_lowercase())
            .cloned()
            .ok_or_else(|| not_found("variable", name))
    }
}

fn not_found(kind: &str, name: &str) -> EvalError {
    EvalError::Template(TemplateError::eval(format!(
        "The template {kind} '{name}' is not found. Please see https://aka.ms/arm-functions/#{kind}s for usage details."
    )))
}

impl Scope {
    /// The `parameters` of a deployment record: `{name: {type, value}}`, secure ones with the
    /// type only.
    pub(crate) fn display_parameters(&self) -> Value {
        let mut out = Map::new();
        for (name, ty, bound) in self.params.values() {
            let entry = match bound {
                Bound::Plain(v) => json!({"type": ty.wire_name(), "value": v}),
                Bound::Secure(_) => json!({"type": ty.wire_name()}),
            };
            out.insert(name.clone(), entry);
        }
        Value::Object(out)
    }
}

/// How strictly to check supplied values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Strictness {
    /// Every rule (deploy, validate).
    Strict,
    /// Values that are still unevaluated expressions (`"[reference(…)]"`, in what-if) skip
    /// the type and rule checks.
    Lenient,
}

/// Binds supplied parameters (`{"name": {"value": …}}`) and evaluates defaults and variables.
pub(crate) fn bind(
    template: &Template,
    supplied: &Map<String, Value>,
    env: &Env<'_>,
    strictness: Strictness,
) -> Result<Scope, TemplateError> {
    let declared: Vec<&str> = template
        .parameters
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    let unknown: Vec<&str> = supplied
        .keys()
        .filter(|k| !declared.iter().any(|d| d.eq_ignore_ascii_case(k)))
        .map(String::as_str)
        .collect();
    if !unknown.is_empty() {
        return Err(TemplateError::UnknownParameters {
            names: unknown.join(", "),
            supported: declared.join(", "),
        });
    }
    let mut given = BTreeMap::new();
    for (name, entry) in supplied {
        let value = match entry {
            Value::Object(e) if e.contains_key("value") => {
                e.get("value").cloned().unwrap_or(Value::Null)
            }
            Value::Object(e) if e.contains_key("reference") => {
                return Err(TemplateError::Unsupported {
                    code: "InvalidTemplate",
                    message: format!(
                        "The template parameter '{name}' uses a Key Vault reference, which this deployment engine does not resolve; pass the value instead."
                    ),
                });
            }
            _ => {
                return Err(TemplateError::invalid(
                    format!("parameters.{name}"),
                    format!("The parameter '{name}' must be an object with a 'value' property."),
                ));
            }
        };
        given.insert(name.to_ascii_lowercase(), value);
    }
    let binder = Binder {
        template,
        env,
        given,
        strictness,
        params: RefCell::new(BTreeMap::new()),
        variables: RefCell::new(BTreeMap::new()),
        unresolved: RefCell::new(BTreeSet::new()),
    };
    let lenient = strictness == Strictness::Lenient;
    for def in &template.parameters {
        match binder.param(&def.name) {
            Err(EvalError::Unresolved) if lenient => {}
            other => {
                other.map_err(|e| unwrap(e, &template.path))?;
            }
        }
    }
    let mut variables = BTreeMap::new();
    for name in template.variables.keys() {
        if name == "copy" {
            continue;
        }
        match binder.variable(name) {
            Ok(value) => {
                variables.insert(name.to_ascii_lowercase(), value);
            }
            Err(EvalError::Unresolved) if lenient => {}
            Err(e) => return Err(unwrap(e, &template.path)),
        }
    }
    if let Some(loops) = template.variables.get("copy") {
        let ev = binder.evaluator(Site::Variable);
        let path = crate::eval::join(&template.path, "variables");
        let out = ev
            .value(&json!({ "copy": loops }), &path)
            .map_err(|e| unwrap(e, &template.path))?;
        if let Value::Object(m) = out {
            for (k, v) in m {
                variables.insert(k.to_ascii_lowercase(), v);
            }
        }
    }
    let mut redactor = Redactor::default();
    let mut params = BTreeMap::new();
    for def in &template.parameters {
        let key = def.name.to_ascii_lowercase();
        if let Some(value) = binder.params.borrow().get(&key).and_then(Option::clone) {
            let bound = if def.ty.is_secure() {
                let s = SecureValue::new(value);
                redactor.add(&s);
                Bound::Secure(s)
            } else {
                Bound::Plain(value)
            };
            params.insert(key, (def.name.clone(), def.ty, bound));
        }
    }
    Ok(Scope {
        params,
        variables,
        redactor,
        unresolved: binder.unresolved.into_inner(),
    })
}

fn unwrap(e: EvalError, path: &str) -> TemplateError {
    match e {
        EvalError::Template(t) => t,
        EvalError::Pending(_) | EvalError::Unresolved => TemplateError::FunctionNotAllowed {
            path: path.to_string(),
            name: "reference".into(),
        },
    }
}

struct Binder<'a> {
    template: &'a Template,
    env: &'a Env<'a>,
    given: BTreeMap<String, Value>,
    strictness: Strictness,
    /// `None` while being evaluated (cycle detection).
    params: RefCell<BTreeMap<String, Option<Value>>>,
    variables: RefCell<BTreeMap<String, Option<Value>>>,
    unresolved: RefCell<BTreeSet<String>>,
}

impl Binder<'_> {
    fn evaluator(&self, site: Site) -> Evaluator<'_> {
        Evaluator {
            env: self.env,
            names: self,
            refs: &NoReferences,
            site,
            loops: Loops::default(),
            lenient: false,
        }
    }

    fn param(&self, name: &str) -> EvalResult {
        let key = name.to_ascii_lowercase();
        if self.unresolved.borrow().contains(&format!("p:{key}")) {
            return Err(EvalError::Unresolved);
        }
        match self.params.borrow().get(&key) {
            Some(Some(v)) => return Ok(v.clone()),
            Some(None) => {
                return crate::eval::fail(format!(
                    "The template parameter '{name}' has a circular reference in its default value."
                ));
            }
            None => {}
        }
        let Some(def) = self
            .template
            .parameters
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))
        else {
            return Err(not_found("parameter", name));
        };
        self.params.borrow_mut().insert(key.clone(), None);
        let value = match (self.given.get(&key), &def.default) {
            (Some(v), _) => v.clone(),
            (None, Some(default)) => {
                let path = crate::eval::join(
                    &self.template.path,
                    &format!("parameters.{}.defaultValue", def.name),
                );
                self.evaluator(Site::ParameterDefault)
                    .value(default, &path)?
            }
            (None, None) => {
                return Err(EvalError::Template(TemplateError::MissingParameter {
                    name: def.name.clone(),
                }));
            }
        };
        if self.strictness == Strictness::Lenient
            && value.as_str().is_some_and(crate::expr::is_expression)
        {
            self.unresolved.borrow_mut().insert(format!("p:{key}"));
            return Err(EvalError::Unresolved);
        }
        check(def, &value, self.strictness)?;
        self.params.borrow_mut().insert(key, Some(value.clone()));
        Ok(value)
    }
}

impl Names for Binder<'_> {
    fn parameter(&self, name: &str) -> EvalResult {
        self.param(name)
    }

    fn variable(&self, name: &str) -> EvalResult {
        let key = name.to_ascii_lowercase();
        if self.unresolved.borrow().contains(&format!("v:{key}")) {
            return Err(EvalError::Unresolved);
        }
        match self.variables.borrow().get(&key) {
            Some(Some(v)) => return Ok(v.clone()),
            Some(None) => {
                return crate::eval::fail(format!(
                    "The template variable '{name}' has a circular reference."
                ));
            }
            None => {}
        }
        let Some((declared, raw)) = self
            .template
            .variables
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
        else {
            return Err(not_found("variable", name));
        };
        self.variables.borrow_mut().insert(key.clone(), None);
        let path = crate::eval::join(&self.template.path, &format!("variables.{declared}"));
        let value = match self.evaluator(Site::Variable).value(raw, &path) {
            Err(EvalError::Unresolved) => {
                self.unresolved.borrow_mut().insert(format!("v:{key}"));
                return Err(EvalError::Unresolved);
            }
            other => other?,
        };
        self.variables.borrow_mut().insert(key, Some(value.clone()));
        Ok(value)
    }
}

fn check(def: &ParameterDef, v: &Value, strictness: Strictness) -> EvalResult<()> {
    if strictness == Strictness::Lenient && v.as_str().is_some_and(crate::expr::is_expression) {
        return Ok(());
    }
    let invalid = |reason: String| {
        Err(EvalError::Template(TemplateError::InvalidParameter {
            name: def.name.clone(),
            reason,
        }))
    };
    if !def.ty.accepts(v) {
        return invalid(format!(
            "Expected a value of type '{}', but received a value of type '{}'.",
            def.ty.expected(),
            type_name(v)
        ));
    }
    if let Some(allowed) = &def.allowed {
        let ok = match v {
            Value::Array(items) if def.ty == ParamType::Array => {
                items.iter().all(|i| allowed.contains(i))
            }
            other => allowed.contains(other),
        };
        if !ok {
            let list: Vec<String> = allowed.iter().map(crate::functions::display).collect();
            return invalid(format!(
                "The value is not part of the allowed value(s): '{}'.",
                list.join(",")
            ));
        }
    }
    let length = match v {
        Value::String(s) => Some(s.chars().count()),
        Value::Array(items) => Some(items.len()),
        _ => None,
    }
    .map(|l| i64::try_from(l).unwrap_or(i64::MAX));
    if let (Some(len), Some(min)) = (length, def.min_length)
        && len < min
    {
        return invalid(format!(
            "Length of the value should be greater than or equal to '{min}'."
        ));
    }
    if let (Some(len), Some(max)) = (length, def.max_length)
        && len > max
    {
        return invalid(format!(
            "Length of the value should be less than or equal to '{max}'."
        ));
    }
    if let (Some(n), Some(min)) = (v.as_i64(), def.min_value)
        && n < min
    {
        return invalid(format!(
            "The value should be greater than or equal to '{min}'."
        ));
    }
    if let (Some(n), Some(max)) = (v.as_i64(), def.max_value)
        && n > max
    {
        return invalid(format!(
            "The value should be less than or equal to '{max}'."
        ));
    }
    Ok(())
}
