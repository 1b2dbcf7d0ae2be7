//! kubectl against the control plane with the generated admin kubeconfig:
//! `get`, `version` (the binaries report the pinned release, not
//! v0.0.0-master) and `auth can-i` for the workload's ServiceAccount.

use std::path::Path;
use std::process::Output;

use libtest_mimic::Failed;

use crate::Ctx;
use crate::workload::{self, ACCOUNT, NAMESPACE};

/// Runs kubectl with `args`; returns the output whatever the exit status.
fn kubectl(ctx: &Ctx, args: &[&str]) -> Result<Output, Failed> {
    let output = ctx.cp.kubectl().args(args).output()?;
    Ok(output)
}

/// Runs kubectl with `args`, which must succeed; returns stdout.
fn kubectl_ok(ctx: &Ctx, args: &[&str]) -> Result<String, Failed> {
    let output = kubectl(ctx, args)?;
    if !output.status.success() {
        return Err(format!(
            "kubectl {}: {}: {}",
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// The Kubernetes version pinned in the tools' wrapper module.
fn pinned_version() -> Result<String, Failed> {
    let go_mod = Path::new(env!("CARGO_MANIFEST_DIR")).join("tools/kubernetes/go.mod");
    let text = std::fs::read_to_string(&go_mod)?;
    text.lines()
        .map(|line| line.trim().trim_start_matches("require ").trim_start())
        .find_map(|line| line.strip_prefix("k8s.io/kubernetes "))
        .and_then(|rest| rest.split_whitespace().next())
        .map(str::to_owned)
        .ok_or_else(|| format!("no k8s.io/kubernetes requirement in {}", go_mod.display()).into())
}

pub fn kubectl_works_with_the_generated_kubeconfig(ctx: &Ctx) -> Result<(), Failed> {
    ctx.rt.block_on(async {
        workload::ensure(ctx).await?;
        let admin = ctx.cp.client().await?;
        workload::scheduled_pods(&admin).await.map(drop)
    })?;

    let names = kubectl_ok(
        ctx,
        &[
            "get",
            "statefulset,service,pods",
            "-n",
            NAMESPACE,
            "-o",
            "name",
        ],
    )?;
    let mut names: Vec<&str> = names.lines().collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "pod/web-0",
            "pod/web-1",
            "pod/web-2",
            "service/web",
            "statefulset.apps/web"
        ]
    );

    let version: serde_json::Value =
        serde_json::from_str(&kubectl_ok(ctx, &["version", "-o", "json"])?)?;
    let pinned = pinned_version()?;
    assert_eq!(
        version["serverVersion"]["gitVersion"].as_str(),
        Some(pinned.as_str())
    );
    assert_eq!(
        version["clientVersion"]["gitVersion"].as_str(),
        Some(pinned.as_str())
    );

    let account = format!("--as=system:serviceaccount:{NAMESPACE}:{ACCOUNT}");
    let can = kubectl_ok(
        ctx,
        &["auth", "can-i", "list", "pods", "-n", NAMESPACE, &account],
    )?;
    assert_eq!(can.trim(), "yes");
    // `can-i` answers "no" with exit status 1.
    let cannot = kubectl(
        ctx,
        &["auth", "can-i", "delete", "pods", "-n", NAMESPACE, &account],
    )?;
    assert_eq!(String::from_utf8_lossy(&cannot.stdout).trim(), "no");
    assert_eq!(cannot.status.code(), Some(1));
    Ok(())
}
