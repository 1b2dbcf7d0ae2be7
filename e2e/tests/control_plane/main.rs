//! e2e tests on one real control plane, shared by every test of this binary:
//! a custom libtest-compatible harness (libtest-mimic) starts it before the
//! tests and tears it down after them, whatever they did.

mod kubectl;
mod poll;
mod rbac;
mod workload;

use std::process::ExitCode;
use std::sync::Arc;

use libtest_mimic::{Arguments, Failed, Trial};
use rnats_e2e::ControlPlane;

/// What every test gets.
pub struct Ctx {
    /// The control plane.
    pub cp: ControlPlane,
    /// Runs the async parts; tests call `block_on` from their own threads.
    pub rt: tokio::runtime::Runtime,
    /// The workload objects, applied once by whichever test needs them first.
    pub workload: tokio::sync::OnceCell<Result<(), String>>,
}

type TestFn = fn(&Ctx) -> Result<(), Failed>;

/// The tests, by name.
const TESTS: &[(&str, TestFn)] = &[
    (
        "apply_creates_every_object_and_reapplying_changes_nothing",
        workload::apply_creates_every_object_and_reapplying_changes_nothing,
    ),
    (
        "statefulset_controller_creates_pods_that_stay_pending",
        workload::statefulset_controller_creates_pods_that_stay_pending,
    ),
    (
        "service_account_token_is_authorized_exactly_as_its_role_says",
        rbac::service_account_token_is_authorized_exactly_as_its_role_says,
    ),
    (
        "kubectl_works_with_the_generated_kubeconfig",
        kubectl::kubectl_works_with_the_generated_kubeconfig,
    ),
];

fn main() -> ExitCode {
    let args = Arguments::from_args();
    if args.list {
        let trials = TESTS
            .iter()
            .map(|(name, _)| Trial::test(*name, || Ok(())))
            .collect();
        return libtest_mimic::run(&args, trials).exit_code();
    }
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot build a tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let cp = match rt.block_on(ControlPlane::start()) {
        Ok(cp) => cp,
        Err(e) => {
            eprintln!("the control plane did not start: {e}");
            return ExitCode::FAILURE;
        }
    };
    let ctx = Arc::new(Ctx {
        cp,
        rt,
        workload: tokio::sync::OnceCell::new(),
    });
    let trials = TESTS
        .iter()
        .map(|(name, test)| {
            let ctx = Arc::clone(&ctx);
            let test = *test;
            Trial::test(*name, move || test(&ctx))
        })
        .collect();
    let conclusion = libtest_mimic::run(&args, trials);
    let Ok(ctx) = Arc::try_unwrap(ctx) else {
        eprintln!("a test still holds the control plane; it is torn down at exit");
        return ExitCode::FAILURE;
    };
    if conclusion.has_failed() {
        eprintln!("control plane logs:\n{}", ctx.cp.log_tails());
    }
    let Ctx { cp, rt, .. } = ctx;
    let teardown = cp.teardown();
    drop(rt);
    if let Err(e) = teardown {
        eprintln!("control plane teardown failed: {e}");
        return ExitCode::FAILURE;
    }
    conclusion.exit_code()
}
