//! The template model: `$schema`, `contentVersion`, `languageVersion`, `parameters`,
//! `variables`, `functions`, `resources` (an array, or with `languageVersion` 2.0 an object
//! keyed by symbolic name; nested `resources` inside a resource are flattened into children) and
//! `outputs`, read from `serde_json::Value` with errors naming the template path.

use serde_json::{Map, Value};

use crate::error::TemplateError;
use crate::eval::{EvalError, EvalResult, Evaluator, Loops, Names, Site};
use crate::params::ParamType;

/// A parsed template. Expressions stay as written; they are evaluated per phase.
#[derive(Clone, Debug)]
pub struct Template {
    pub(crate) content_version: Option<String>,
    pub(crate) language_version: Option<String>,
    pub(crate) metadata: Option<Value>,
    pub(crate) parameters: Vec<ParameterDef>,
    pub(crate) variables: Map<String, Value>,
    pub(crate) functions: UserFunctions,
    pub(crate) resources: Vec<ResourceDecl>,
    pub(crate) outputs: Vec<OutputDef>,
    /// Path of this template inside the request (`properties.template` at the top, longer for
    /// nested deployments); error paths are relative to it.
    pub(crate) path: String,
}

/// One declared parameter.
#[derive(Clone, Debug)]
pub(crate) struct ParameterDef {
    pub name: String,
    pub ty: ParamType,
    pub default: Option<Value>,
    pub allowed: Option<Vec<Value>>,
    pub min_length: Option<i64>,
    pub max_length: Option<i64>,
    pub min_value: Option<i64>,
    pub max_value: Option<i64>,
}

/// One declared resource (nested ones flattened, with `parent` set).
#[derive(Clone, Debug)]
pub(crate) struct ResourceDecl {
    /// `resources[3]`, `resources['account']`, `resources[0].resources[1]`.
    pub path: String,
    /// languageVersion 2.0 symbolic name.
    pub symbolic: Option<String>,
    /// The declaration without its nested `resources`.
    pub raw: Map<String, Value>,
    /// The enclosing resource, for resources declared inside another.
    pub parent: Option<usize>,
}

/// One declared output.
#[derive(Clone, Debug)]
pub(crate) struct OutputDef {
    pub name: String,
    pub ty: ParamType,
    pub raw: Map<String, Value>,
}

const TEMPLATE_MEMBERS: &[&str] = &[
    "$schema",
    "contentVersion",
    "apiProfile",
    "languageVersion",
    "metadata",
    "definitions",
    "parameters",
    "variables",
    "functions",
    "resources",
    "outputs",
];

impl Template {
    /// Reads a template (what `properties.template` of a deployment holds).
    pub fn parse(template: &Value) -> Result<Self, TemplateError> {
        Template::parse_at(template, "")
    }

    pub(crate) fn parse_at(template: &Value, path: &str) -> Result<Self, TemplateError> {
        let p = |k: &str| crate::eval::join(path, k);
        let Value::Object(map) = template else {
            return Err(TemplateError::invalid(
                path,
                "The template must be a JSON object.",
            ));
        };
        if let Some(unknown) = map.keys().find(|k| !TEMPLATE_MEMBERS.contains(&k.as_str())) {
            return Err(TemplateError::invalid(
                p(unknown),
                format!(
                    "Could not find member '{unknown}' on object of type 'Template'. Path '{unknown}'."
                ),
            ));
        }
        let string = |k: &str| map.get(k).and_then(Value::as_str).map(str::to_string);
        let language_version = string("languageVersion");
        let parameters = match map.get("parameters") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Object(params)) => params
                .iter()
                .map(|(name, def)| {
                    ParameterDef::parse(name, def, &p(&format!("parameters.{name}")))
                })
                .collect::<Result<_, _>>()?,
            Some(_) => {
                return Err(TemplateError::invalid(
                    p("parameters"),
                    "The template 'parameters' must be an object.",
                ));
            }
        };
        let variables = match map.get("variables") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(v)) => v.clone(),
            Some(_) => {
                return Err(TemplateError::invalid(
                    p("variables"),
                    "The template 'variables' must be an object.",
                ));
            }
        };
        let functions = UserFunctions::parse(map.get("functions"), &p("functions"))?;
        let mut resources = Vec::new();
        match map.get("resources") {
            None | Some(Value::Null) => {}
            Some(Value::Array(items)) => {
                for (i, r) in items.iter().enumerate() {
                    flatten(
                        r,
                        &p(&format!("resources[{i}]")),
                        None,
                        None,
                        &mut resources,
                    )?;
                }
            }
            Some(Value::Object(items))
                if language_version
                    .as_deref()
                    .is_some_and(|v| v.starts_with('2')) =>
            {
                for (name, r) in items {
                    flatten(
                        r,
                        &p(&format!("resources['{name}']")),
                        Some(name.clone()),
                        None,
                        &mut resources,
                    )?;
                }
            }
            Some(_) => {
                return Err(TemplateError::invalid(
                    p("resources"),
                    "The template 'resources' must be an array (or, with languageVersion '2.0', an object keyed by symbolic name).",
                ));
            }
        }
        let outputs = match map.get("outputs") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Object(outs)) => outs
                .iter()
                .map(|(name, def)| OutputDef::parse(name, def, &p(&format!("outputs.{name}"))))
                .collect::<Result<_, _>>()?,
            Some(_) => {
                return Err(TemplateError::invalid(
                    p("outputs"),
                    "The template 'outputs' must be an object.",
                ));
            }
        };
        Ok(Template {
            content_version: string("contentVersion"),
            language_version,
            metadata: map.get("metadata").cloned(),
            parameters,
            variables,
            functions,
            resources,
            outputs,
            path: path.to_string(),
        })
    }

    /// `contentVersion`, if given.
    pub fn content_version(&self) -> Option<&str> {
        self.content_version.as_deref()
    }

    /// `languageVersion`, if given (`2.0` when resources are keyed by symbolic name).
    pub fn language_version(&self) -> Option<&str> {
        self.language_version.as_deref()
    }

    /// Declared parameter names, in template order.
    pub fn parameter_names(&self) -> Vec<&str> {
        self.parameters.iter().map(|p| p.name.as_str()).collect()
    }

    /// Number of declared resources (nested declarations included, copies not expanded).
    pub fn resource_count(&self) -> usize {
        self.resources.len()
    }
}

fn flatten(
    r: &Value,
    path: &str,
    symbolic: Option<String>,
    parent: Option<usize>,
    out: &mut Vec<ResourceDecl>,
) -> Result<(), TemplateError> {
    let Value::Object(map) = r else {
        return Err(TemplateError::invalid(
            path,
            "The template resource must be a JSON object.",
        ));
    };
    let existing = map
        .get("existing")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let required: &[&str] = if existing {
        &["type", "name"]
    } else {
        &["type", "name", "apiVersion"]
    };
    for key in required {
        if !map.get(*key).is_some_and(Value::is_string) {
            return Err(TemplateError::invalid(
                path,
                format!(
                    "The template resource at '{path}' is missing the required property '{key}' (a string)."
                ),
            ));
        }
    }
    let mut raw = map.clone();
    let children = raw.remove("resources");
    let index = out.len();
    out.push(ResourceDecl {
        path: path.to_string(),
        symbolic,
        raw,
        parent,
    });
    match children {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for (i, child) in items.iter().enumerate() {
                flatten(
                    child,
                    &format!("{path}.resources[{i}]"),
                    None,
                    Some(index),
                    out,
                )?;
            }
        }
        Some(_) => {
            return Err(TemplateError::invalid(
                format!("{path}.resources"),
                "Nested 'resources' must be an array.",
            ));
        }
    }
    Ok(())
}

impl ParameterDef {
    fn parse(name: &str, def: &Value, path: &str) -> Result<Self, TemplateError> {
        let Value::Object(d) = def else {
            return Err(TemplateError::invalid(
                path,
                format!("The template parameter '{name}' must be an object."),
            ));
        };
        let ty = match d.get("type").and_then(Value::as_str) {
            Some(t) => ParamType::parse(t).ok_or_else(|| {
                TemplateError::invalid(
                    format!("{path}.type"),
                    format!("The template parameter '{name}' has an invalid type '{t}'. The supported types are 'string, securestring, int, bool, object, secureObject, array'."),
                )
            })?,
            None => {
                return Err(TemplateError::invalid(
                    format!("{path}.type"),
                    format!("The template parameter '{name}' is missing the required property 'type'."),
                ));
            }
        };
        let int = |k: &str| d.get(k).and_then(Value::as_i64);
        Ok(ParameterDef {
            name: name.to_string(),
            ty,
            default: d.get("defaultValue").cloned(),
            allowed: d.get("allowedValues").and_then(Value::as_array).cloned(),
            min_length: int("minLength"),
            max_length: int("maxLength"),
            min_value: int("minValue"),
            max_value: int("maxValue"),
        })
    }
}

impl OutputDef {
    fn parse(name: &str, def: &Value, path: &str) -> Result<Self, TemplateError> {
        let Value::Object(d) = def else {
            return Err(TemplateError::invalid(
                path,
                format!("The template output '{name}' must be an object."),
            ));
        };
        let ty = d
            .get("type")
            .and_then(Value::as_str)
            .and_then(ParamType::parse)
            .ok_or_else(|| {
                TemplateError::invalid(
                    format!("{path}.type"),
                    format!("The template output '{name}' has no valid 'type'."),
                )
            })?;
        if !d.contains_key("value") && !d.contains_key("copy") {
            return Err(TemplateError::invalid(
                path,
                format!("The template output '{name}' has no 'value'."),
            ));
        }
        Ok(OutputDef {
            name: name.to_string(),
            ty,
            raw: d.clone(),
        })
    }
}

/// User-defined functions (`functions: [{namespace, members: {name: {parameters, output}}}]`),
/// called as `namespace.name(…)`. Their bodies see only their own parameters.
#[derive(Clone, Debug, Default)]
pub struct UserFunctions {
    members: Vec<UserFunction>,
}

#[derive(Clone, Debug)]
struct UserFunction {
    /// `namespace.name`, lower-cased.
    key: String,
    params: Vec<String>,
    output: Value,
    path: String,
}

impl UserFunctions {
    fn parse(v: Option<&Value>, path: &str) -> Result<Self, TemplateError> {
        let mut members = Vec::new();
        let Some(Value::Array(namespaces)) = v else {
            return Ok(UserFunctions { members });
        };
        for (i, ns) in namespaces.iter().enumerate() {
            let npath = format!("{path}[{i}]");
            let Some(namespace) = ns.get("namespace").and_then(Value::as_str) else {
                return Err(TemplateError::invalid(
                    npath,
                    "A function namespace must have a 'namespace' string.",
                ));
            };
            let Some(Value::Object(fns)) = ns.get("members") else {
                continue;
            };
            for (name, f) in fns {
                let params = f
                    .get("parameters")
                    .and_then(Value::as_array)
                    .map(|ps| {
                        ps.iter()
                            .filter_map(|p| p.get("name").and_then(Value::as_str))
                            .map(str::to_string)
                            .collect()
                    })
                    .unwrap_or_default();
                let Some(output) = f.get("output").and_then(|o| o.get("value")).cloned() else {
                    return Err(TemplateError::invalid(
                        format!("{npath}.members.{name}"),
                        format!("The function '{namespace}.{name}' has no 'output.value'."),
                    ));
                };
                members.push(UserFunction {
                    key: format!("{namespace}.{name}").to_ascii_lowercase(),
                    params,
                    output,
                    path: format!("{npath}.members.{name}.output.value"),
                });
            }
        }
        Ok(UserFunctions { members })
    }

    pub(crate) fn call(&self, ev: &Evaluator<'_>, name: &str, args: Vec<Value>) -> EvalResult {
        let Some(f) = self
            .members
            .iter()
            .find(|f| f.key == name.to_ascii_lowercase())
        else {
            return Err(EvalError::Template(TemplateError::UnknownFunction {
                path: String::new(),
                name: name.to_string(),
            }));
        };
        if f.params.len() != args.len() {
            return crate::eval::fail(format!(
                "The template language function '{name}' must have '{}' argument(s), but {} were provided.",
                f.params.len(),
                args.len()
            ));
        }
        let names = FunctionParams {
            names: &f.params,
            values: &args,
        };
        let inner = Evaluator {
            env: ev.env,
            names: &names,
            refs: ev.refs,
            site: Site::Function,
            loops: Loops::default(),
            lenient: ev.lenient,
        };
        inner.value(&f.output, &f.path)
    }
}

struct FunctionParams<'a> {
    names: &'a [String],
    values: &'a [Value],
}

impl Names for FunctionParams<'_> {
    fn parameter(&self, name: &str) -> EvalResult {
        self.names
            .iter()
            .position(|n| n.eq_ignore_ascii_case(name))
            .and_then(|i| self.values.get(i).cloned())
            .ok_or_else(|| {
                EvalError::Template(TemplateError::eval(format!(
                    "The template parameter '{name}' is not found. Please see https://aka.ms/arm-functions/#parameters for usage details."
                )))
            })
    }

    fn variable(&self, name: &str) -> EvalResult {
        crate::eval::fail(format!(
            "The template variable '{name}' cannot be used in a user-defined function."
        ))
    }
}
