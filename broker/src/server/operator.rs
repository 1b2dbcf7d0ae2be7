//! The accounts of operator mode in the registry: an account JWT resolved for a client
//! becomes a registry account named by its public key, and the exports and imports of every
//! resolved account JWT are installed (again) whenever a new one joins.

use std::sync::Arc;

use super::Server;
use crate::account::Account;
use crate::auth::jwt::{ResolvedAccount, Trust, exports};

impl Server {
    /// The registry account of a resolved account JWT. The first time it is seen, the
    /// accounts it imports from are resolved too and every JWT account's exports and imports
    /// are installed.
    pub fn jwt_account(&self, trust: &Trust, acc: &ResolvedAccount) -> Arc<Account> {
        let account = self.register_account(&acc.name);
        if trust.mark_installed(&acc.name) {
            trust.resolve_imports(acc);
            self.install_jwt_imports(trust);
        }
        account
    }

    /// Installs the exports and imports of every resolved account JWT.
    fn install_jwt_imports(&self, trust: &Trust) {
        let resolved = trust.resolved();
        let accounts: Vec<Arc<Account>> = resolved
            .iter()
            .map(|r| self.register_account(&r.name))
            .collect();
        let configs = exports::account_configs(&resolved);
        crate::imports::install(&configs, &accounts);
        for (account, config) in accounts.iter().zip(&configs) {
            account.set_mappings(&config.mappings);
        }
    }

    /// After a reload (a new trust, and the config's imports installed afresh): the JWT
    /// accounts in the registry are resolved again and their imports installed.
    pub(super) fn reinstall_jwt_accounts(&self) {
        let Some(trust) = self.trust() else {
            return;
        };
        for a in self.accounts() {
            if let Ok(r) = trust.lookup(&a.name) {
                trust.mark_installed(&r.name);
                trust.resolve_imports(&r);
            }
        }
        self.install_jwt_imports(&trust);
    }
}
