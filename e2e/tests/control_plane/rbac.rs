//! Service-account tokens and RBAC: a token issued through the TokenRequest
//! API authenticates as the ServiceAccount, and each request is allowed or
//! forbidden exactly as the Role bound to it says.

use std::fmt::Debug;

use k8s_openapi::api::authentication::v1::{SelfSubjectReview, TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::{ConfigMap, Pod, Secret, ServiceAccount};
use kube::Client;
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use libtest_mimic::Failed;
use serde_json::json;

use crate::Ctx;
use crate::workload::{self, ACCOUNT, ALLOWED_CONFIG, DENIED_CONFIG, NAMESPACE};

/// Lifetime of the test's token (the API's minimum is 10 minutes).
const TOKEN_SECONDS: i64 = 600;

/// A fresh token for the workload's ServiceAccount.
async fn token(admin: Client) -> Result<String, Failed> {
    let request = TokenRequest {
        spec: Some(TokenRequestSpec {
            expiration_seconds: Some(TOKEN_SECONDS),
            ..TokenRequestSpec::default()
        }),
        ..TokenRequest::default()
    };
    let accounts: Api<ServiceAccount> = Api::namespaced(admin, NAMESPACE);
    let issued = accounts
        .create_token_request(ACCOUNT, &PostParams::default(), &request)
        .await?;
    let status = issued.status.ok_or("TokenRequest without status")?;
    Ok(status.token.ok_or("TokenRequest without token")?)
}

fn allowed<T>(what: &str, result: Result<T, kube::Error>) -> Result<T, Failed> {
    result.map_err(|e| format!("{what}: expected to be allowed, got {e}").into())
}

fn refused<T: Debug>(what: &str, code: u16, result: Result<T, kube::Error>) -> Result<(), Failed> {
    match result {
        Err(kube::Error::Api(status)) if status.code == code => Ok(()),
        other => Err(format!("{what}: expected HTTP {code}, got {other:?}").into()),
    }
}

pub fn service_account_token_is_authorized_exactly_as_its_role_says(
    ctx: &Ctx,
) -> Result<(), Failed> {
    ctx.rt.block_on(async {
        workload::ensure(ctx).await?;
        let admin = ctx.cp.client().await?;
        workload::scheduled_pods(&admin).await?;
        let sa = ctx.cp.client_with_token(&token(admin).await?)?;

        let review = Api::<SelfSubjectReview>::all(sa.clone())
            .create(&PostParams::default(), &SelfSubjectReview::default())
            .await?;
        let user = review
            .status
            .and_then(|s| s.user_info)
            .and_then(|u| u.username);
        assert_eq!(
            user.as_deref(),
            Some(format!("system:serviceaccount:{NAMESPACE}:{ACCOUNT}").as_str())
        );

        // What the Role grants.
        let pods: Api<Pod> = Api::namespaced(sa.clone(), NAMESPACE);
        let listed = allowed("list pods", pods.list(&ListParams::default()).await)?;
        assert_eq!(listed.items.len(), workload::REPLICAS);
        allowed("get pod web-0", pods.get("web-0").await)?;
        let configs: Api<ConfigMap> = Api::namespaced(sa.clone(), NAMESPACE);
        let config = allowed(
            "get the allowed ConfigMap",
            configs.get(ALLOWED_CONFIG).await,
        )?;
        assert_eq!(
            config
                .data
                .and_then(|d| d.get("visible").cloned())
                .as_deref(),
            Some("yes")
        );

        // Everything else is forbidden (writes as dry runs, in case they were not).
        refused(
            "get another ConfigMap",
            403,
            configs.get(DENIED_CONFIG).await,
        )?;
        refused(
            "list ConfigMaps",
            403,
            configs.list(&ListParams::default()).await,
        )?;
        let dry_delete = DeleteParams::default().dry_run();
        refused("delete a pod", 403, pods.delete("web-0", &dry_delete).await)?;
        let new_config: ConfigMap = serde_json::from_value(json!({
            "metadata": { "name": "written-by-reader" },
            "data": { "a": "b" },
        }))?;
        let dry_create = PostParams {
            dry_run: true,
            ..PostParams::default()
        };
        refused(
            "create a ConfigMap",
            403,
            configs.create(&dry_create, &new_config).await,
        )?;
        let secrets: Api<Secret> = Api::namespaced(sa.clone(), NAMESPACE);
        refused(
            "list Secrets",
            403,
            secrets.list(&ListParams::default()).await,
        )?;
        let other_namespace: Api<Pod> = Api::namespaced(sa.clone(), "default");
        refused(
            "list pods in another namespace",
            403,
            other_namespace.list(&ListParams::default()).await,
        )?;
        let cluster_wide: Api<Pod> = Api::all(sa);
        refused(
            "list pods cluster-wide",
            403,
            cluster_wide.list(&ListParams::default()).await,
        )?;

        // And a token the apiserver did not sign is not authenticated at all.
        let stranger = ctx.cp.client_with_token("not-a-valid-token")?;
        let pods: Api<Pod> = Api::namespaced(stranger, NAMESPACE);
        refused(
            "list pods with a forged token",
            401,
            pods.list(&ListParams::default()).await,
        )?;
        Ok(())
    })
}
