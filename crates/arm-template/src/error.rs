//! Errors: one enum, [`TemplateError`], whose [`TemplateError::code`] is ARM's wire code, and the
//! wire shape [`ArmError`] (`{"code","message","target","details","additionalInfo"}`).
//!
//! Messages follow the wording ARM itself uses (collected from real `az deployment` output),
//! minus the `line '…' and column '…'` parts: this engine works on parsed JSON, so locations are
//! template paths such as `resources[3].properties.parameters.aiFoundryPrincipal`, carried in
//! `additionalInfo[].info.path` as ARM does (with line and position 0).

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::host::HostError;

/// An error in ARM's wire shape, as it appears in `properties.error` of a deployment, in the
/// body of a failed `validate`, and in the `statusMessage.error` of an operation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArmError {
    /// ARM error code, e.g. `InvalidTemplate`, `DeploymentFailed`.
    pub code: String,
    /// Human-readable message.
    pub message: String,
    /// What the error is about (a resource id), if anything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Nested errors (for `DeploymentFailed`: one per failed resource).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<ArmError>,
    /// `additionalInfo` entries, e.g. `{"type":"TemplateViolation","info":{…,"path":…}}`.
    #[serde(
        default,
        rename = "additionalInfo",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub additional_info: Vec<Value>,
}

impl ArmError {
    /// An error with a code and message only.
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        ArmError {
            code: code.into(),
            message: message.into(),
            target: None,
            details: Vec::new(),
            additional_info: Vec::new(),
        }
    }
}

impl std::fmt::Display for ArmError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

/// Everything that can go wrong while reading, validating, planning or running a template.
///
/// `path` fields are template paths (`resources[0].properties.x`, `parameters.location`,
/// `outputs.id.value`). Secure parameter values never appear in any message.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum TemplateError {
    /// The template (or a deployment request) is not shaped as ARM requires.
    #[error("{message}")]
    InvalidTemplate {
        /// Where in the template.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// An expression does not parse.
    #[error(
        "Unable to parse language expression '{expression}': {message} at position '{position}'."
    )]
    ExpressionParse {
        /// Where in the template.
        path: String,
        /// The expression text (without the enclosing brackets).
        expression: String,
        /// Character offset in `expression` where parsing failed.
        position: usize,
        /// What was expected.
        message: String,
    },
    /// A function name that ARM does not know.
    #[error(
        "The template function '{name}' is not valid. Please see https://aka.ms/arm-functions for usage details."
    )]
    UnknownFunction {
        /// Where in the template.
        path: String,
        /// The function as written.
        name: String,
    },
    /// A function that exists but is not allowed where it is used (e.g. `utcNow` outside a
    /// parameter default, `reference` in a variable or resource name).
    #[error(
        "The template function '{name}' is not expected at this location. Please see https://aka.ms/arm-functions for usage details."
    )]
    FunctionNotAllowed {
        /// Where in the template.
        path: String,
        /// The function as written.
        name: String,
    },
    /// Evaluating an expression failed (bad arguments, missing property, index out of range…).
    #[error("Unable to evaluate template language expression at '{path}': {message}")]
    Evaluation {
        /// Where in the template.
        path: String,
        /// What went wrong, in ARM's words.
        message: String,
    },
    /// A required parameter has no value and no default.
    #[error(
        "The value for the template parameter '{name}' is not provided. Please see https://aka.ms/arm-create-parameter-file for usage details."
    )]
    MissingParameter {
        /// The parameter.
        name: String,
    },
    /// A supplied parameter value breaks the parameter's type or rules.
    #[error("The provided value for the template parameter '{name}' is not valid. {reason}")]
    InvalidParameter {
        /// The parameter.
        name: String,
        /// Which rule (never contains a secure value).
        reason: String,
    },
    /// Parameters were supplied that the template does not declare.
    #[error(
        "The template parameters '{names}' in the parameters file are not valid; they are not present in the original template and can therefore not be provided at deployment time. The only supported parameters for this template are '{supported}'. Please see https://aka.ms/arm-pass-parameter-values for usage details."
    )]
    UnknownParameters {
        /// The unknown names, comma-separated.
        names: String,
        /// The declared names, comma-separated.
        supported: String,
    },
    /// The dependency graph has a cycle.
    #[error(
        "Circular dependency detected on resource: {resources}. Please see https://aka.ms/arm-syntax-resources for usage details."
    )]
    CircularDependency {
        /// The resources on the cycle, as `'id'` separated by `, `.
        resources: String,
    },
    /// A `dependsOn` entry names nothing in the template.
    #[error(
        "The resource '{target}' is not defined in the template. Please see https://aka.ms/arm-syntax for usage details."
    )]
    DependencyNotFound {
        /// Where in the template.
        path: String,
        /// The entry as evaluated.
        target: String,
    },
    /// Two resources in the template have the same id.
    #[error(
        "The resource '{id}' is defined multiple times in a template. Please see https://aka.ms/arm-syntax-resources for usage details."
    )]
    DuplicateResource {
        /// The duplicated id.
        id: String,
    },
    /// A copy loop's count is negative, too large, or not an integer.
    #[error(
        "The template resource '{name}' has an invalid copy count '{count}'. The copy count must be a non-negative integer value and cannot exceed '800'. Please see https://aka.ms/arm-copy for usage details."
    )]
    InvalidCopyCount {
        /// Where in the template.
        path: String,
        /// The loop (or resource) name.
        name: String,
        /// The count as written.
        count: String,
    },
    /// The request asks for something this engine does not do (mode `Complete`,
    /// `templateLink`, `parametersLink`, Key Vault parameter references…).
    #[error("{message}")]
    Unsupported {
        /// ARM code to answer with.
        code: &'static str,
        /// What is not supported.
        message: String,
    },
    /// `reference()` or `existing` named a resource that does not exist.
    #[error(
        "The Resource '{resource_type}/{name}' under resource group '{resource_group}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix"
    )]
    ResourceNotFound {
        /// The full id that was looked up.
        id: String,
        /// Its type.
        resource_type: String,
        /// Its name.
        name: String,
        /// Its resource group (empty above the group level).
        resource_group: String,
    },
    /// The host refused a read made on behalf of an expression.
    #[error("{0}")]
    Host(HostError),
}

impl TemplateError {
    /// ARM's wire code for this error.
    pub fn code(&self) -> &str {
        match self {
            TemplateError::InvalidTemplate { .. }
            | TemplateError::ExpressionParse { .. }
            | TemplateError::UnknownFunction { .. }
            | TemplateError::FunctionNotAllowed { .. }
            | TemplateError::Evaluation { .. }
            | TemplateError::MissingParameter { .. }
            | TemplateError::InvalidParameter { .. }
            | TemplateError::UnknownParameters { .. }
            | TemplateError::CircularDependency { .. }
            | TemplateError::DependencyNotFound { .. }
            | TemplateError::DuplicateResource { .. }
            | TemplateError::InvalidCopyCount { .. } => "InvalidTemplate",
            TemplateError::Unsupported { code, .. } => code,
            TemplateError::ResourceNotFound { .. } => "ResourceNotFound",
            TemplateError::Host(e) => &e.code,
        }
    }

    /// The template path the error points at, if it has one.
    pub fn path(&self) -> Option<&str> {
        match self {
            TemplateError::InvalidTemplate { path, .. }
            | TemplateError::ExpressionParse { path, .. }
            | TemplateError::UnknownFunction { path, .. }
            | TemplateError::FunctionNotAllowed { path, .. }
            | TemplateError::Evaluation { path, .. }
            | TemplateError::DependencyNotFound { path, .. }
            | TemplateError::InvalidCopyCount { path, .. } => Some(path),
            TemplateError::MissingParameter { .. } | TemplateError::InvalidParameter { .. } => None,
            TemplateError::UnknownParameters { .. }
            | TemplateError::CircularDependency { .. }
            | TemplateError::DuplicateResource { .. }
            | TemplateError::Unsupported { .. }
            | TemplateError::ResourceNotFound { .. }
            | TemplateError::Host(_) => None,
        }
    }

    /// Whether ARM reports this error as a template validation failure (`Deployment template
    /// validation failed: '…'`) rather than a runtime failure.
    fn is_template_violation(&self) -> bool {
        self.code() == "InvalidTemplate"
    }

    /// The error in ARM's wire shape, as `validate` or a failed `PUT` answers it.
    pub fn to_arm_error(&self) -> ArmError {
        if let TemplateError::Host(e) = self {
            return e.to_arm_error();
        }
        let mut error = if self.is_template_violation() {
            ArmError::new(
                self.code(),
                format!("Deployment template validation failed: '{self}'."),
            )
        } else {
            ArmError::new(self.code(), self.to_string())
        };
        if self.is_template_violation() {
            let path = match self {
                TemplateError::MissingParameter { name }
                | TemplateError::InvalidParameter { name, .. } => format!("parameters.{name}"),
                other => other.path().unwrap_or_default().to_string(),
            };
            error.additional_info.push(json!({
                "type": "TemplateViolation",
                "info": {"lineNumber": 0, "linePosition": 0, "path": path},
            }));
        }
        if let TemplateError::ResourceNotFound { id, .. } = self {
            error.target = Some(id.clone());
        }
        error
    }

    /// This error with `path` set where it has none yet (errors raised deep in evaluation
    /// learn their template path on the way out).
    pub(crate) fn at(mut self, at: &str) -> Self {
        match &mut self {
            TemplateError::InvalidTemplate { path, .. }
            | TemplateError::ExpressionParse { path, .. }
            | TemplateError::UnknownFunction { path, .. }
            | TemplateError::FunctionNotAllowed { path, .. }
            | TemplateError::Evaluation { path, .. }
            | TemplateError::DependencyNotFound { path, .. }
            | TemplateError::InvalidCopyCount { path, .. }
                if path.is_empty() =>
            {
                *path = at.to_string();
            }
            _ => {}
        }
        self
    }

    /// This error with every secure string in its messages replaced.
    pub(crate) fn redacted(self, r: &crate::secure::Redactor) -> Self {
        match self {
            TemplateError::InvalidTemplate { path, message } => TemplateError::InvalidTemplate {
                path,
                message: r.text(&message),
            },
            TemplateError::Evaluation { path, message } => TemplateError::Evaluation {
                path,
                message: r.text(&message),
            },
            TemplateError::Host(mut h) => {
                h.message = r.text(&h.message);
                TemplateError::Host(h)
            }
            other => other,
        }
    }

    /// Shorthand for [`TemplateError::InvalidTemplate`].
    pub(crate) fn invalid(path: impl Into<String>, message: impl Into<String>) -> Self {
        TemplateError::InvalidTemplate {
            path: path.into(),
            message: message.into(),
        }
    }

    /// Shorthand for [`TemplateError::Evaluation`] without a path yet.
    pub(crate) fn eval(message: impl Into<String>) -> Self {
        TemplateError::Evaluation {
            path: String::new(),
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_violations_carry_their_path() {
        let e = TemplateError::UnknownFunction {
            path: "resources[3].properties.x".into(),
            name: "nope".into(),
        };
        let wire = e.to_arm_error();
        assert_eq!(wire.code, "InvalidTemplate");
        assert!(wire.message.starts_with(
            "Deployment template validation failed: 'The template function 'nope' is not valid."
        ));
        assert_eq!(
            wire.additional_info[0]["info"]["path"],
            "resources[3].properties.x"
        );
    }

    #[test]
    fn parameter_errors_point_at_the_parameter() {
        let e = TemplateError::MissingParameter { name: "p".into() };
        assert_eq!(
            e.to_arm_error().additional_info[0]["info"]["path"],
            "parameters.p"
        );
    }

    #[test]
    fn at_fills_only_empty_paths() {
        let e = TemplateError::eval("x").at("a").at("b");
        assert_eq!(e.path(), Some("a"));
    }
}
