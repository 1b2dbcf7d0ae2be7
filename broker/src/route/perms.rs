//! Cluster permissions (`cluster { permissions { import, export } }`), as nats-server's route
//! permissions: `import` limits the local interest announced to peers (so they only send
//! those subjects here), `export` limits the peers' interest accepted (so only those subjects
//! are sent to them). Both sides tell each other theirs in route INFO; a reload applies new
//! ones to the routes already connected.

use std::sync::Arc;

use super::conn::Route;
use super::info::PeerInfo;
use super::info::route_info;
use super::registry::can_export;
use crate::permissions::{Permissions, SubjectPermission};
use crate::server::Server;

/// A peer's `import` and `export`, as its route INFO last told them (shown by `/routez`).
#[derive(Debug, Default)]
pub struct PeerPerms {
    pub import: Option<SubjectPermission>,
    pub export: Option<SubjectPermission>,
}

impl PeerPerms {
    fn from_info(info: &PeerInfo) -> PeerPerms {
        let side =
            |v: &Option<serde_json::Value>| v.as_ref().and_then(SubjectPermission::from_json);
        PeerPerms {
            import: side(&info.import),
            export: side(&info.export),
        }
    }
}

/// The `import` and `export` of this server's route INFO.
pub fn info_fields(server: &Server) -> (Option<serde_json::Value>, Option<serde_json::Value>) {
    let opts = server.options();
    let Some(p) = opts.cluster.permissions.as_ref() else {
        return (None, None);
    };
    (
        p.publish.as_ref().map(SubjectPermission::to_json),
        p.subscribe.as_ref().map(SubjectPermission::to_json),
    )
}

/// Keeps the peer's permissions from its first INFO.
pub fn first_info(route: &Route, info: &PeerInfo) {
    *route.peer_perms.lock() = PeerPerms::from_info(info);
}

/// A later INFO from the peer itself: when its permissions changed, keep them and announce
/// again the local interest its wider `export` now accepts (nats-server's
/// `updateRemoteRoutePerms`).
pub fn later_info(server: &Server, route: &Route, info: &PeerInfo) {
    let new = PeerPerms::from_info(info);
    let now = new.export.clone();
    let old = {
        let mut held = route.peer_perms.lock();
        if held.import == new.import && held.export == new.export {
            return;
        }
        std::mem::replace(&mut *held, new)
    };
    let export_only = |export: Option<SubjectPermission>| Permissions {
        subscribe: export,
        ..Permissions::default()
    };
    server.routes.export_widened(
        route,
        Some(&export_only(old.export)),
        Some(&export_only(now)),
    );
}

/// A reload changed the cluster's permissions: every route gets the new INFO, the interest
/// the new `import` lets through (or holds back) as `RS+` (`RS-`), and loses the peers'
/// interest the new `export` refuses (nats-server's `reloadClusterPermissions`).
pub fn reload(server: &Server, perms: Option<Arc<Permissions>>) {
    let lines = server.routes.set_permissions(perms.clone());
    let info = route_info(server, false);
    for route in server.routes.routes() {
        route.retain_remote_subs(server, |subject| can_export(perms.as_deref(), subject));
        route.shared.outbound.push_proto(&info);
        if !lines.is_empty() {
            route.shared.outbound.push_proto(&lines);
        }
        route.shared.outbound.wake();
    }
}
