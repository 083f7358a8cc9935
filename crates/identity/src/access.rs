//! Role assignments and access checks (Azure RBAC semantics, see [`crate::roles`]).

use keyhold_store::{Precondition, RecordStoreExt, decode};
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
