//! The workload every test shares — a namespace, a ServiceAccount bound to a
//! Role, two ConfigMaps, a headless Service and a StatefulSet, applied with
//! server-side apply — and the tests that the apiserver stores it and the
//! controllers act on it (no kubelet runs, so the pods stay Pending).

use std::time::Duration;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{Namespace, Pod, Service, ServiceAccount};
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use kube::api::{Api, ListParams, Patch, PatchParams};
use kube::{Client, ResourceExt};
use libtest_mimic::Failed;
use serde_json::{Value, json};

use crate::{Ctx, poll};

/// The namespace of the workload.
pub const NAMESPACE: &str = "e2e-apps";
/// The ServiceAccount the Role is bound to.
pub const ACCOUNT: &str = "reader";
/// The ConfigMap the Role lets the account read, and one it does not.
pub const ALLOWED_CONFIG: &str = "allowed";
pub const DENIED_CONFIG: &str = "denied";
/// StatefulSet and headless Service name; pods are `web-0` … `web-2`.
pub const STATEFULSET: &str = "web";
pub const REPLICAS: usize = 3;

/// Field manager of the test's server-side applies.
const MANAGER: &str = "rnats-e2e";
/// How long the controller-manager and scheduler get to act.
const CONTROLLERS_ACT: Duration = Duration::from_secs(90);

/// The manifests, in apply order.
fn manifests() -> Vec<Value> {
    let labels = json!({ "app.kubernetes.io/name": STATEFULSET });
    vec![
        json!({ "apiVersion": "v1", "kind": "Namespace", "metadata": { "name": NAMESPACE } }),
        json!({
            "apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": { "name": ACCOUNT, "namespace": NAMESPACE },
        }),
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
            "metadata": { "name": "pod-reader", "namespace": NAMESPACE },
            "rules": [
                { "apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"] },
                {
                    "apiGroups": [""], "resources": ["configmaps"],
                    "resourceNames": [ALLOWED_CONFIG], "verbs": ["get"],
                },
            ],
        }),
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
            "metadata": { "name": "reader-reads-pods", "namespace": NAMESPACE },
            "roleRef": { "apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "pod-reader" },
            "subjects": [{ "kind": "ServiceAccount", "name": ACCOUNT, "namespace": NAMESPACE }],
        }),
        json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": { "name": ALLOWED_CONFIG, "namespace": NAMESPACE },
            "data": { "visible": "yes" },
        }),
        json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": { "name": DENIED_CONFIG, "namespace": NAMESPACE },
            "data": { "visible": "no" },
        }),
        json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": { "name": STATEFULSET, "namespace": NAMESPACE },
            "spec": {
                "clusterIP": "None",
                "publishNotReadyAddresses": true,
                "selector": labels,
                "ports": [{ "name": "client", "port": 4222 }],
            },
        }),
        json!({
            "apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": { "name": STATEFULSET, "namespace": NAMESPACE },
            "spec": {
                "serviceName": STATEFULSET,
                "replicas": REPLICAS,
                "podManagementPolicy": "Parallel",
                "selector": { "matchLabels": labels },
                "template": {
                    "metadata": { "labels": labels },
                    "spec": {
                        "serviceAccountName": ACCOUNT,
                        "containers": [{
                            "name": "server",
                            // Never pulled: no kubelet runs.
                            "image": "rnats.invalid/placeholder:e2e",
                            "ports": [{ "name": "client", "containerPort": 4222 }],
                        }],
                    },
                },
            },
        }),
    ]
}

/// Server-side applies one manifest through the dynamic API of its kind.
async fn apply(client: &Client, manifest: &Value) -> Result<(), String> {
    let object: kube::api::DynamicObject =
        serde_json::from_value(manifest.clone()).map_err(|e| e.to_string())?;
    let types = object
        .types
        .clone()
        .ok_or("manifest without apiVersion/kind")?;
    let gvk = kube::api::GroupVersionKind::try_from(&types).map_err(|e| e.to_string())?;
    let (resource, _) = kube::discovery::pinned_kind(client, &gvk)
        .await
        .map_err(|e| format!("discover {gvk:?}: {e}"))?;
    let name = object.name_any();
    let api: Api<kube::api::DynamicObject> = match object.namespace() {
        Some(ns) => Api::namespaced_with(client.clone(), &ns, &resource),
        None => Api::all_with(client.clone(), &resource),
    };
    api.patch(
        &name,
        &PatchParams::apply(MANAGER).force(),
        &Patch::Apply(manifest),
    )
    .await
    .map(drop)
    .map_err(|e| format!("apply {} {name}: {e}", types.kind))
}

/// Applies the workload once per run (the first caller does it).
pub async fn ensure(ctx: &Ctx) -> Result<(), Failed> {
    let outcome = ctx
        .workload
        .get_or_init(|| async {
            let client = ctx.cp.client().await.map_err(|e| e.to_string())?;
            for manifest in manifests() {
                apply(&client, &manifest).await?;
            }
            Ok(())
        })
        .await;
    outcome.clone().map_err(Failed::from)
}

/// The StatefulSet's pods once all exist and the scheduler has looked at each.
pub async fn scheduled_pods(client: &Client) -> Result<Vec<Pod>, Failed> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), NAMESPACE);
    let selector = ListParams::default().labels(&format!("app.kubernetes.io/name={STATEFULSET}"));
    poll::until(
        "the StatefulSet's pods are created and unschedulable",
        CONTROLLERS_ACT,
        || async {
            let list = pods.list(&selector).await.map_err(|e| e.to_string())?;
            if list.items.len() != REPLICAS {
                return Err(format!("{} of {REPLICAS} pods", list.items.len()));
            }
            let waiting: Vec<String> = list
                .items
                .iter()
                .filter(|pod| scheduled_condition(pod) != Some(("False", "Unschedulable")))
                .map(ResourceExt::name_any)
                .collect();
            if waiting.is_empty() {
                Ok(list.items)
            } else {
                Err(format!("not yet marked unschedulable: {waiting:?}"))
            }
        },
    )
    .await
}

/// The pod's PodScheduled condition as (status, reason).
fn scheduled_condition(pod: &Pod) -> Option<(&str, &str)> {
    let conditions = pod.status.as_ref()?.conditions.as_ref()?;
    let scheduled = conditions.iter().find(|c| c.type_ == "PodScheduled")?;
    Some((
        scheduled.status.as_str(),
        scheduled.reason.as_deref().unwrap_or(""),
    ))
}

pub fn apply_creates_every_object_and_reapplying_changes_nothing(ctx: &Ctx) -> Result<(), Failed> {
    ctx.rt.block_on(async {
        ensure(ctx).await?;
        let client = ctx.cp.client().await?;
        let ns = Api::<Namespace>::all(client.clone()).get(NAMESPACE).await?;
        let phase = ns.status.and_then(|s| s.phase);
        assert_eq!(phase.as_deref(), Some("Active"));
        Api::<ServiceAccount>::namespaced(client.clone(), NAMESPACE)
            .get(ACCOUNT)
            .await?;
        let role = Api::<Role>::namespaced(client.clone(), NAMESPACE)
            .get("pod-reader")
            .await?;
        assert_eq!(role.rules.map(|r| r.len()), Some(2));
        let binding = Api::<RoleBinding>::namespaced(client.clone(), NAMESPACE)
            .get("reader-reads-pods")
            .await?;
        assert_eq!(binding.role_ref.name, "pod-reader");
        let service = Api::<Service>::namespaced(client.clone(), NAMESPACE)
            .get(STATEFULSET)
            .await?;
        let cluster_ip = service.spec.and_then(|s| s.cluster_ip);
        assert_eq!(
            cluster_ip.as_deref(),
            Some("None"),
            "the Service is headless"
        );

        let statefulsets = Api::<StatefulSet>::namespaced(client.clone(), NAMESPACE);
        let before = statefulsets.get(STATEFULSET).await?;
        for manifest in manifests() {
            apply(&client, &manifest).await?;
        }
        let after = statefulsets.get(STATEFULSET).await?;
        assert_eq!(
            before.metadata.generation, after.metadata.generation,
            "re-applying the same StatefulSet must not change its spec"
        );
        Ok(())
    })
}

pub fn statefulset_controller_creates_pods_that_stay_pending(ctx: &Ctx) -> Result<(), Failed> {
    ctx.rt.block_on(async {
        ensure(ctx).await?;
        let client = ctx.cp.client().await?;
        let pods = scheduled_pods(&client).await?;
        let mut names: Vec<String> = pods.iter().map(ResourceExt::name_any).collect();
        names.sort();
        assert_eq!(names, ["web-0", "web-1", "web-2"]);
        for pod in &pods {
            let owner = pod
                .owner_references()
                .iter()
                .find(|o| o.controller == Some(true));
            assert_eq!(
                owner.map(|o| (o.kind.as_str(), o.name.as_str())),
                Some(("StatefulSet", STATEFULSET)),
                "{} is controlled by the StatefulSet",
                pod.name_any()
            );
            let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
            assert_eq!(
                phase,
                Some("Pending"),
                "{} has no node to run on",
                pod.name_any()
            );
            let spec = pod.spec.as_ref().ok_or("pod without spec")?;
            assert_eq!(spec.service_account_name.as_deref(), Some(ACCOUNT));
            assert_eq!(
                spec.node_name,
                None,
                "{} was not bound to a node",
                pod.name_any()
            );
        }
        let statefulsets = Api::<StatefulSet>::namespaced(client, NAMESPACE);
        poll::until(
            "the StatefulSet counts 3 replicas, none ready",
            CONTROLLERS_ACT,
            || async {
                let sts = statefulsets
                    .get(STATEFULSET)
                    .await
                    .map_err(|e| e.to_string())?;
                let status = sts.status.ok_or("no status yet")?;
                match (status.replicas, status.ready_replicas.unwrap_or(0)) {
                    (3, 0) => Ok(()),
                    other => Err(format!("(replicas, ready) = {other:?}")),
                }
            },
        )
        .await
    })
}
