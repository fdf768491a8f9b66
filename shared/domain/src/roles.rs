//! What each role may do in its workspace: the one table of the API's permissions (API.md,
//! "Teams, approvals, audit"). Every route names its action; `Role::may` answers.

use crate::workspace::Role;

/// Something a request does in a workspace, in the words of the team doing it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Action {
    /// Read anything of the workspace: posts, the calendar, accounts, queues, outboxes,
    /// members, settings.
    Read,
    /// Compose, schedule, publish and cancel posts.
    WritePosts,
    /// Approve posts or ask for changes (approvals on).
    Approve,
    /// Connect accounts (pasted credentials or OAuth).
    ManageAccounts,
    /// Set an account's posting queue.
    ManageQueues,
    /// Webhook endpoints and the inbound secret.
    ManageWebhooks,
    /// Add and remove members.
    ManageMembers,
    /// Name, time zone, business hours, approvals.
    ManageSettings,
    /// Answer, assign and dismiss inbox items.
    AnswerInbox,
    /// The inbox's auto-reply rules.
    ManageInboxRules,
}

impl Action {
    pub const ALL: [Action; 10] = [
        Action::Read,
        Action::WritePosts,
        Action::Approve,
        Action::ManageAccounts,
        Action::ManageQueues,
        Action::ManageWebhooks,
        Action::ManageMembers,
        Action::ManageSettings,
        Action::AnswerInbox,
        Action::ManageInboxRules,
    ];
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Viewer, Role::Editor, Role::Manager, Role::Owner];

    /// The permission table. Written out role by role rather than as "at least editor", so
    /// that a new action has to be placed in every row on purpose.
    pub fn may(self, action: Action) -> bool {
        use Action as A;
        match self {
            Role::Viewer => matches!(action, A::Read),
            Role::Editor => matches!(action, A::Read | A::WritePosts | A::AnswerInbox),
            Role::Manager => matches!(
                action,
                A::Read
                    | A::WritePosts
                    | A::Approve
                    | A::ManageAccounts
                    | A::ManageQueues
                    | A::ManageWebhooks
                    | A::AnswerInbox
                    | A::ManageInboxRules
            ),
            Role::Owner => true,
        }
    }

    /// Whether this role may give `other` to a new member: never a role above its own.
    pub fn may_grant(self, other: Role) -> bool {
        self.may(Action::ManageMembers) && other <= self
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Editor => "editor",
            Role::Manager => "manager",
            Role::Owner => "owner",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_role_may_do_what_the_one_below_may_and_more() {
        for pair in Role::ALL.windows(2) {
            let (lower, higher) = (pair[0], pair[1]);
            let gains: Vec<_> = Action::ALL
                .into_iter()
                .filter(|a| higher.may(*a) && !lower.may(*a))
                .collect();
            assert!(!gains.is_empty(), "{higher:?} adds nothing to {lower:?}");
            for action in Action::ALL {
                assert!(
                    !lower.may(action) || higher.may(action),
                    "{lower:?} {action:?}"
                );
            }
        }
    }

    #[test]
    fn the_table_matches_the_api_description() {
        assert!(Role::Viewer.may(Action::Read) && !Role::Viewer.may(Action::WritePosts));
        assert!(Role::Editor.may(Action::WritePosts) && !Role::Editor.may(Action::ManageAccounts));
        assert!(!Role::Editor.may(Action::Approve));
        assert!(Role::Editor.may(Action::AnswerInbox) && !Role::Viewer.may(Action::AnswerInbox));
        assert!(
            Role::Manager.may(Action::ManageInboxRules)
                && !Role::Editor.may(Action::ManageInboxRules)
        );
        for a in [
            Action::Approve,
            Action::ManageAccounts,
            Action::ManageQueues,
            Action::ManageWebhooks,
        ] {
            assert!(Role::Manager.may(a), "{a:?}");
        }
        assert!(
            !Role::Manager.may(Action::ManageMembers) && !Role::Manager.may(Action::ManageSettings)
        );
        assert!(Role::Owner.may(Action::ManageMembers) && Role::Owner.may(Action::ManageSettings));
    }

    #[test]
    fn only_owners_grant_roles_and_never_one_above_their_own() {
        for role in Role::ALL {
            assert!(Role::Owner.may_grant(role));
            assert!(!Role::Manager.may_grant(role) && !Role::Editor.may_grant(role));
            assert!(!Role::Viewer.may_grant(role));
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("admin"), None);
        assert_eq!(Role::parse("Owner"), None);
    }
}
