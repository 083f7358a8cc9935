//! Property tests of the expression parser: display then parse gives the same tree, and no
//! input makes it panic.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use keyhold_arm_template::expr::{Expr, classify, parse};
use proptest::prelude::*;

fn ident() -> impl Strategy<Value = String> {
    "[a-zA-Z_][a-zA-Z0-9_]{0,6}"
}

fn expr() -> impl Strategy<Value = Expr> {
    let leaf = prop_oneof![
        "[a-z '\\[\\]{}]{0,8}".prop_map(Expr::Str),
        any::<i64>().prop_map(Expr::Int),
        ident().prop_map(|name| Expr::Call {
            name,
            args: vec![],
            pos: 0
        }),
    ];
    leaf.prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            (ident(), prop::collection::vec(inner.clone(), 0..4))
                .prop_map(|(name, args)| Expr::Call { name, args, pos: 0 }),
            (inner.clone(), ident()).prop_map(|(t, name)| Expr::Member {
                target: Box::new(t),
                name
            }),
            (inner.clone(), inner).prop_map(|(t, i)| Expr::Index {
                target: Box::new(t),
                index: Box::new(i)
            }),
        ]
    })
}

/// The tree without source positions.
fn strip(e: Expr) -> Expr {
    match e {
        Expr::Call { name, args, .. } => Expr::Call {
            name,
            args: args.into_iter().map(strip).collect(),
            pos: 0,
        },
        Expr::Member { target, name } => Expr::Member {
            target: Box::new(strip(*target)),
            name,
        },
        Expr::Index { target, index } => Expr::Index {
            target: Box::new(strip(*target)),
            index: Box::new(strip(*index)),
        },
        other => other,
    }
}

proptest! {
    #[test]
    fn display_then_parse_is_identity(e in expr()) {
        let text = e.to_string();
        let parsed = parse(&text).map_err(|err| TestCaseError::fail(format!("{text}: {err:?}")))?;
        prop_assert_eq!(strip(parsed), e);
    }

    #[test]
    fn parse_never_panics(s in ".{0,80}") {
        let _ = parse(&s);
        let _ = classify(&format!("[{s}]"));
    }

    #[test]
    fn escaped_strings_stay_literal(s in "[a-z\\[\\] ]{0,20}") {
        let template = format!("[[{s}");
        prop_assert_eq!(classify(&template).unwrap(), keyhold_arm_template::expr::TemplateString::Literal(format!("[{s}")));
    }
}

#[test]
fn the_run_future_is_send() {
    fn assert_send<T: Send>(_: &T) {}
    let host = std::sync::Arc::new(NoHost);
    let d = keyhold_arm_template::Deployment::prepare(
        keyhold_arm_template::DeploymentContext::new("t", "s", "g", "l", "d"),
        &keyhold_arm_template::DeploymentRequest::new(
            serde_json::json!({"resources": []}),
            serde_json::Value::Null,
        )
        .unwrap(),
    )
    .unwrap();
    let fut = d.run(host.as_ref());
    assert_send(&fut);
    let what_if = d.what_if(host.as_ref());
    assert_send(&what_if);
}

struct NoHost;

#[async_trait::async_trait]
impl keyhold_arm_template::ResourceHost for NoHost {
    async fn put(
        &self,
        _: &keyhold_arm_template::ResourceId,
        _: &str,
        b: serde_json::Value,
    ) -> Result<serde_json::Value, keyhold_arm_template::HostError> {
        Ok(b)
    }
    async fn get(
        &self,
        _: &keyhold_arm_template::ResourceId,
        _: &str,
    ) -> Result<Option<serde_json::Value>, keyhold_arm_template::HostError> {
        Ok(None)
    }
    async fn list_keys(
        &self,
        _: &keyhold_arm_template::ResourceId,
        _: &str,
    ) -> Result<serde_json::Value, keyhold_arm_template::HostError> {
        Ok(serde_json::json!({}))
    }
}
