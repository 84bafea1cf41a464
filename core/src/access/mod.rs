//! Who may do what, as types. A [`Principal`] (a member acting in their
//! account) is made only by the session path ([`crate::Accounts::principal`],
//! log-in, joining) and the bearer path ([`crate::manage::principal`], from a
//! verified token); its fields are private to this crate. Every domain
//! function that changes something takes a capability — [`Manager`],
//! [`Owner`], [`WebhookAdmin`], [`Support`] — and only the role checks here
//! make one, so a new function that forgets its check does not compile.
//! Reads take the `Principal` itself: every member may read their account.
//!
//! Which console function and management operation each kind of caller may
//! call is [`table`]: the server's edge checks it before a request is read,
//! and a test calls every entry as every kind of caller.

use std::net::IpAddr;

use crate::error::{Error, Result};
pub use crate::model::{Principal, Role, Staff};

pub mod table;

impl Principal {
    pub fn user_id(&self) -> &str {
        &self.user_id
    }

    pub fn email(&self) -> &str {
        &self.email
    }

    pub fn account_id(&self) -> &str {
        &self.account_id
    }

    pub fn account_name(&self) -> &str {
        &self.account_name
    }

    pub fn role(&self) -> Role {
        self.role
    }

    pub fn client_ip(&self) -> Option<IpAddr> {
        self.client_ip
    }

    /// Where this request came from, for the audit log.
    pub fn set_client_ip(&mut self, ip: Option<IpAddr>) {
        self.client_ip = ip;
    }

    pub fn session_epoch(&self) -> i64 {
        self.session_epoch
    }

    pub fn has_second_factor(&self) -> bool {
        self.second_factor
    }

    pub fn second_factor_required(&self) -> bool {
        self.second_factor_required
    }

    /// The management client acting, if this is one (never a person).
    pub fn acting_client(&self) -> Option<&str> {
        self.acting_client.as_deref()
    }

    /// Owners and developers, and management clients (which act as
    /// developers of their own account).
    pub fn manager(&self) -> Result<Manager<'_>> {
        if self.role.can_manage_credentials() {
            Ok(Manager(self))
        } else {
            Err(Error::Forbidden)
        }
    }

    /// A person who owns the account; never a management client.
    pub fn owner(&self) -> Result<Owner<'_>> {
        if self.role == Role::Owner && self.acting_client.is_none() {
            Ok(Owner(self))
        } else {
            Err(Error::Forbidden)
        }
    }

    /// An owner, or a management client (whose token's scope the edge
    /// checked): webhook endpoints carry the account's security alerts.
    pub fn webhook_admin(&self) -> Result<WebhookAdmin<'_>> {
        if self.role == Role::Owner || self.acting_client.is_some() {
            Ok(WebhookAdmin(self))
        } else {
            Err(Error::Forbidden)
        }
    }
}

impl Staff {
    pub fn user_id(&self) -> &str {
        &self.user_id
    }

    pub fn email(&self) -> &str {
        &self.email
    }

    pub fn session_epoch(&self) -> i64 {
        self.session_epoch
    }

    pub fn has_second_factor(&self) -> bool {
        self.second_factor
    }

    /// A staff member may act across accounts only with a second factor.
    pub fn support(&self) -> Result<Support<'_>> {
        if self.second_factor {
            Ok(Support(self))
        } else {
            Err(Error::SecondFactorRequired)
        }
    }
}

macro_rules! capability {
    ($(#[$doc:meta])* $name:ident($of:ty)) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy)]
        pub struct $name<'a>(&'a $of);

        impl std::ops::Deref for $name<'_> {
            type Target = $of;
            fn deref(&self) -> &$of {
                self.0
            }
        }
    };
}

capability!(
    /// May change the account's projects and clients: an owner, a
    /// developer or a management client.
    Manager(Principal)
);
capability!(
    /// May manage the team, the account's security settings and its
    /// management clients: a person who owns the account.
    Owner(Principal)
);
capability!(
    /// May change webhook endpoints: an owner or a management client.
    WebhookAdmin(Principal)
);
capability!(
    /// A support staff member with a second factor: may find and revoke
    /// any account's clients.
    Support(Staff)
);

impl<'a> Manager<'a> {
    /// The owner behind this manager, for what only an owner may do with
    /// a management-API project or client (its tokens can act as the
    /// account). A management client asking is refused outright (403); a
    /// developer in the console is told why beside the field.
    pub fn owner_for_management(self, api_id: &str) -> Result<()> {
        if api_id != crate::manage::API_ID {
            return Ok(());
        }
        if self.0.acting_client.is_some() {
            return Err(Error::Forbidden);
        }
        if self.0.role != Role::Owner {
            return Err(Error::invalid(
                "api_id",
                "Only an owner can make or use management clients.",
            ));
        }
        Ok(())
    }

    pub fn principal(self) -> &'a Principal {
        self.0
    }

    /// [`owner_for_management`](Self::owner_for_management) for changes to
    /// what exists (narrow, retire, keep, delete, a project's settings):
    /// a plain 403, there is no field to point at.
    pub fn owner_of(self, api_id: &str) -> Result<()> {
        self.owner_for_management(api_id)
            .map_err(|_| Error::Forbidden)
    }
}

impl<'a> Owner<'a> {
    pub fn principal(self) -> &'a Principal {
        self.0
    }
}

impl<'a> WebhookAdmin<'a> {
    pub fn principal(self) -> &'a Principal {
        self.0
    }
}

impl<'a> Support<'a> {
    pub fn staff(self) -> &'a Staff {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(role: Role, client: bool) -> Principal {
        Principal {
            user_id: "usr_1".into(),
            email: "a@example.com".into(),
            account_id: "acc_1".into(),
            account_name: "A".into(),
            role,
            client_ip: None,
            session_epoch: 0,
            second_factor: false,
            second_factor_required: false,
            acting_client: client.then(|| "pcl_1".into()),
        }
    }

    #[test]
    fn each_capability_goes_to_whom_it_should() {
        let owner = member(Role::Owner, false);
        let developer = member(Role::Developer, false);
        let viewer = member(Role::Viewer, false);
        let client = member(Role::Developer, true);
        assert!(owner.manager().is_ok() && developer.manager().is_ok());
        assert!(client.manager().is_ok() && viewer.manager().is_err());
        assert!(owner.owner().is_ok());
        for p in [&developer, &viewer, &client] {
            assert!(matches!(p.owner(), Err(Error::Forbidden)));
        }
        assert!(owner.webhook_admin().is_ok() && client.webhook_admin().is_ok());
        assert!(developer.webhook_admin().is_err() && viewer.webhook_admin().is_err());
        // Management projects and clients: owners only.
        let api = crate::manage::API_ID;
        assert!(owner.manager().unwrap().owner_for_management(api).is_ok());
        assert!(developer
            .manager()
            .unwrap()
            .owner_for_management(api)
            .is_err());
        assert!(matches!(
            client.manager().unwrap().owner_for_management(api),
            Err(Error::Forbidden)
        ));
        assert!(developer
            .manager()
            .unwrap()
            .owner_for_management("partner")
            .is_ok());
    }

    #[test]
    fn staff_act_only_with_a_second_factor() {
        let mut s = Staff {
            user_id: "usr_s".into(),
            email: "s@example.com".into(),
            session_epoch: 0,
            second_factor: false,
        };
        assert!(matches!(s.support(), Err(Error::SecondFactorRequired)));
        s.second_factor = true;
        assert!(s.support().is_ok());
    }
}
