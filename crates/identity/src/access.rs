//! Role assignments and access checks (Azure RBAC semantics, see [`crate::roles`]).

use keyhold_store::{Batch, Precondition, RecordStoreExt, decode};
use uuid::Uuid;

use crate::Identity;
use crate::error::IdentityError;
use crate::model::RoleAssignment;
use crate::roles::{role_by_id, scope_covers};

pub(crate) const ROLE_ASSIGNMENTS: &str = "identity.role_assignments";

impl Identity {
    /// Creates (or, with the same content, confirms) an assignment; returns it and whether it
    /// was created. A different assignment under the same name is a conflict, as in ARM.
    pub async fn assign_role(
        &self,
        id: Uuid,
        scope: &str,
        principal_id: Uuid,
        role_id: Uuid,
    ) -> Result<(RoleAssignment, bool), IdentityError> {
        self.principal(principal_id).await?;
        self.assign_role_unchecked(id, scope, principal_id, role_id)
            .await
    }

    /// Like [`Identity::assign_role`], without requiring the principal to be in this directory:
    /// for principals of trusted external issuers (as ARM skips the check when the caller gives
    /// `principalType`).
    pub async fn assign_role_unchecked(
        &self,
        id: Uuid,
        scope: &str,
        principal_id: Uuid,
        role_id: Uuid,
    ) -> Result<(RoleAssignment, bool), IdentityError> {
        if role_by_id(role_id).is_none() {
            return Err(IdentityError::InvalidName {
                what: "roleDefinitionId",
                reason: format!("{role_id} is not a built-in role keyhold knows"),
            });
        }
        if !scope.starts_with('/') {
            return Err(IdentityError::InvalidName {
                what: "scope",
                reason: "must start with '/'".into(),
            });
        }
        if let Some(existing) = self.role_assignment(id).await? {
            let same = existing.principal_id == principal_id
                && existing.role_id == role_id
                && existing.scope.eq_ignore_ascii_case(scope);
            return if same {
                Ok((existing, false))
            } else {
                Err(IdentityError::Conflict(format!(
                    "role assignment {id} already exists with other properties"
                )))
            };
        }
        let assignment = RoleAssignment {
            id,
            scope: scope.to_owned(),
            principal_id,
            role_id,
            created: Self::now(),
        };
        self.records
            .put_typed(
                ROLE_ASSIGNMENTS,
                &id.to_string(),
                &assignment,
                Precondition::Absent,
            )
            .await?;
        Ok((assignment, true))
    }

    /// An assignment by name.
    pub async fn role_assignment(&self, id: Uuid) -> Result<Option<RoleAssignment>, IdentityError> {
        Ok(self
            .records
            .get_typed::<RoleAssignment>(ROLE_ASSIGNMENTS, &id.to_string())
            .await?
            .map(|(a, _)| a))
    }

    /// Assignments that apply at `scope` (at it, above it or below it), or all of them.
    pub async fn list_role_assignments(
        &self,
        scope: Option<&str>,
    ) -> Result<Vec<RoleAssignment>, IdentityError> {
        let all: Vec<RoleAssignment> = self
            .records
            .scan_all(ROLE_ASSIGNMENTS, "", 100_000)
            .await?
            .iter()
            .map(|(_, r)| decode(&r.value))
            .collect::<Result<_, _>>()?;
        Ok(match scope {
            None => all,
            Some(scope) => all
                .into_iter()
                .filter(|a| scope_covers(&a.scope, scope) || scope_covers(scope, &a.scope))
                .collect(),
        })
    }

    /// The assignments that apply at `scope` (at it, above or below it) that a tenant may see:
    /// those within the scope's subscription, and those above every subscription (`/`,
    /// `/tenants/{t}`) only when their principal is of `tenant` (an operator's root
    /// assignment is not another tenant's to read).
    pub async fn list_role_assignments_for_tenant(
        &self,
        scope: &str,
        tenant: Uuid,
    ) -> Result<Vec<RoleAssignment>, IdentityError> {
        let mut out = Vec::new();
        for a in self.list_role_assignments(Some(scope)).await? {
            let in_subscription = a
                .scope
                .trim_start_matches('/')
                .split('/')
                .next()
                .is_some_and(|s| s.eq_ignore_ascii_case("subscriptions"));
            if in_subscription {
                out.push(a);
                continue;
            }
            match self.principal(a.principal_id).await {
                Ok(p) if p.tenant_id == tenant => out.push(a),
                Ok(_) | Err(IdentityError::PrincipalNotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// Removes the assignment `id` if it exists at `scope` (compared without regard to case
    /// or a trailing `/`); returns it. One stored at another scope is left alone: an
    /// assignment is reached only through its own scope.
    pub async fn delete_role_assignment_at(
        &self,
        id: Uuid,
        scope: &str,
    ) -> Result<Option<RoleAssignment>, IdentityError> {
        let Some((existing, version)) = self
            .records
            .get_typed::<RoleAssignment>(ROLE_ASSIGNMENTS, &id.to_string())
            .await?
        else {
            return Ok(None);
        };
        let same = existing
            .scope
            .trim_end_matches('/')
            .eq_ignore_ascii_case(scope.trim_end_matches('/'));
        if !same {
            return Ok(None);
        }
        self.records
            .commit(Batch::new().delete_if(
                ROLE_ASSIGNMENTS,
                &id.to_string(),
                Precondition::Version(version),
            ))
            .await?;
        Ok(Some(existing))
    }

    /// Removes an assignment; returns it if it existed.
    pub async fn delete_role_assignment(
        &self,
        id: Uuid,
    ) -> Result<Option<RoleAssignment>, IdentityError> {
        let existing = self.role_assignment(id).await?;
        if existing.is_some() {
            self.records
                .delete(ROLE_ASSIGNMENTS, &id.to_string())
                .await?;
        }
        Ok(existing)
    }

    async fn assignments_of(&self, principal: Uuid) -> Result<Vec<RoleAssignment>, IdentityError> {
        Ok(self
            .list_role_assignments(None)
            .await?
            .into_iter()
            .filter(|a| a.principal_id == principal)
            .collect())
    }

    /// Whether `principal` may perform management `action` on `scope`.
    pub async fn check_access(
        &self,
        principal: Uuid,
        scope: &str,
        action: &str,
    ) -> Result<bool, IdentityError> {
        Ok(self.assignments_of(principal).await?.iter().any(|a| {
            scope_covers(&a.scope, scope) && role_by_id(a.role_id).is_some_and(|r| r.allows(action))
        }))
    }

    /// Whether `principal` may perform data `action` (e.g. a key operation) on `scope`.
    pub async fn check_data_access(
        &self,
        principal: Uuid,
        scope: &str,
        action: &str,
    ) -> Result<bool, IdentityError> {
        Ok(self.assignments_of(principal).await?.iter().any(|a| {
            scope_covers(&a.scope, scope)
                && role_by_id(a.role_id).is_some_and(|r| r.allows_data(action))
        }))
    }

    /// Whether `principal` has any role at or below `scope` (what makes a subscription visible
    /// in `GET /subscriptions`).
    pub async fn has_any_role_at_or_below(
        &self,
        principal: Uuid,
        scope: &str,
    ) -> Result<bool, IdentityError> {
        Ok(self
            .assignments_of(principal)
            .await?
            .iter()
            .any(|a| scope_covers(&a.scope, scope) || scope_covers(scope, &a.scope)))
    }
}
