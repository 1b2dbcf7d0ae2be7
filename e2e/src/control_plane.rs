//! The control-plane fixture: etcd, kube-apiserver (RBAC, service-account
//! token signing, TLS from our own CA), kube-controller-manager and
//! kube-scheduler as local processes on a bridge address of our own, with an
//! admin kubeconfig; started with readiness waits and always torn down.
//!
//! Teardown has four layers, so that no process, file or interface outlives a
//! run: [`ControlPlane::teardown`] / `Drop` (normal end, failed test, panic);
//! the signal watcher (SIGINT, SIGTERM, SIGHUP); the reaper (the test process
//! died, even by SIGKILL); and [`crate::cleanup_leftovers`] at the next start
//! (the reaper died too).

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use k8s_openapi::api::core::v1::ServiceAccount;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, Client, Config};

use crate::error::{Error, IoContext, Result, at};
use crate::health::{self, wait_until};
use crate::kubeconfig;
use crate::netif;
use crate::pki::Pki;
use crate::process::{Component, LOG_TAIL_LINES};
use crate::reaper::Reaper;
use crate::signals;
use crate::slot::{self, Slot};
use crate::tools::Tools;

/// kube-apiserver's port (on the slot's own address, so slots never collide).
pub const APISERVER_PORT: u16 = 6443;
/// etcd's client port.
const ETCD_CLIENT_PORT: u16 = 2379;
/// etcd's peer port (single member, but etcd listens anyway).
const ETCD_PEER_PORT: u16 = 2380;
/// kube-controller-manager's secure port (its default).
const CONTROLLER_MANAGER_PORT: u16 = 10257;
/// kube-scheduler's secure port (its default).
const SCHEDULER_PORT: u16 = 10259;

/// Service ClusterIP range; its first address is the `kubernetes` Service.
/// Disjoint from the 10.254.N.0/24 slot subnets.
const SERVICE_CIDR: &str = "10.96.0.0/16";
/// The `kubernetes` Service address (first of [`SERVICE_CIDR`]).
const KUBERNETES_SERVICE_IP: Ipv4Addr = Ipv4Addr::new(10, 96, 0, 1);
/// Issuer of service-account tokens (the in-cluster apiserver URL, as kubeadm sets it).
const SERVICE_ACCOUNT_ISSUER: &str = "https://kubernetes.default.svc.cluster.local";

/// Readiness deadlines. Generous: CI has 2 cores and the apiserver alone
/// takes 10–30 s to install its bootstrap objects there.
const ETCD_READY: Duration = Duration::from_secs(60);
const APISERVER_READY: Duration = Duration::from_secs(180);
const COMPONENT_READY: Duration = Duration::from_secs(90);
/// How long a component gets between SIGTERM and SIGKILL at teardown.
const STOP_GRACE: Duration = Duration::from_secs(10);
/// How long the reaper gets to exit once dismissed.
const REAPER_EXIT: Duration = Duration::from_secs(5);

/// A running control plane. Dropping it tears everything down; call
/// [`ControlPlane::teardown`] instead to see teardown errors.
#[derive(Debug)]
pub struct ControlPlane {
    id: u64,
    slot: Slot,
    address: Ipv4Addr,
    link: String,
    link_created: bool,
    reaper: Option<Reaper>,
    components: Vec<Component>,
    tools: Tools,
    pki: Option<Pki>,
    kubeconfig: PathBuf,
    torn_down: bool,
}

impl ControlPlane {
    /// Starts etcd, kube-apiserver, kube-controller-manager and kube-scheduler
    /// and waits until all are ready (including the controller-manager's
    /// `default` ServiceAccount). On failure everything started is torn down.
    pub async fn start() -> Result<Self> {
        let tools = Tools::locate()?;
        if let Err(e) = slot::cleanup_leftovers() {
            tracing::warn!(error = %e, "could not clean up leftovers of earlier runs");
        }
        signals::install()?;
        let slot = Slot::claim()?;
        let id = signals::register(slot.dir().to_owned());
        let index = slot.index();
        let kubeconfig = slot.dir().join("admin.kubeconfig");
        // From here on, Drop undoes whatever has been done.
        let mut cp = Self {
            id,
            slot,
            address: netif::slot_address(index),
            link: netif::slot_link(index),
            link_created: false,
            reaper: None,
            components: Vec::new(),
            tools,
            pki: None,
            kubeconfig,
            torn_down: false,
        };
        cp.boot().await?;
        Ok(cp)
    }

    async fn boot(&mut self) -> Result<()> {
        let mut reaper = Reaper::spawn()?;
        signals::set_reaper(self.id, reaper.pid());
        reaper.watch_path(self.slot.dir())?;
        reaper.watch_link(&self.link)?;
        self.reaper = Some(reaper);
        signals::set_link(self.id, &self.link);

        let dir = self.slot.dir().to_owned();
        for sub in ["home", "tmp"] {
            let path = dir.join(sub);
            std::fs::create_dir_all(&path).context(|| at("create", &path))?;
        }
        self.link_created = true;
        netif::create_bridge(&self.link, self.address)?;

        let pki = Pki::create(&dir.join("pki"), self.address, KUBERNETES_SERVICE_IP)?;
        let server = self.server_url();
        kubeconfig::write(&self.kubeconfig, &server, &pki.ca.cert, &pki.admin)?;
        let kcm_kubeconfig = dir.join("controller-manager.kubeconfig");
        kubeconfig::write(
            &kcm_kubeconfig,
            &server,
            &pki.ca.cert,
            &pki.controller_manager,
        )?;
        let scheduler_kubeconfig = dir.join("scheduler.kubeconfig");
        kubeconfig::write(&scheduler_kubeconfig, &server, &pki.ca.cert, &pki.scheduler)?;
        let scheduler_config = dir.join("scheduler.yaml");
        write_scheduler_config(&scheduler_config, &scheduler_kubeconfig)?;

        let etcd_addr = SocketAddr::from((self.address, ETCD_CLIENT_PORT));
        self.spawn("etcd", etcd_args(&dir, self.address))?;
        wait_until("etcd", ETCD_READY, &mut self.components, || {
            health::etcd(etcd_addr)
        })
        .await?;

        self.spawn("kube-apiserver", apiserver_args(&dir, self.address, &pki))?;
        let admin = self.client().await?;
        wait_until(
            "kube-apiserver /readyz",
            APISERVER_READY,
            &mut self.components,
            || health::endpoint_ok(&admin, "/readyz"),
        )
        .await?;

        let common = ComponentFlags {
            dir: &dir,
            address: self.address,
            pki: &pki,
        };
        self.spawn(
            "kube-controller-manager",
            controller_manager_args(&common, &kcm_kubeconfig),
        )?;
        self.spawn(
            "kube-scheduler",
            scheduler_args(&common, &scheduler_config, &scheduler_kubeconfig),
        )?;
        for (name, port) in [
            ("kube-controller-manager", CONTROLLER_MANAGER_PORT),
            ("kube-scheduler", SCHEDULER_PORT),
        ] {
            let probe = self.anonymous_client(port, &pki)?;
            wait_until(
                &format!("{name} /healthz"),
                COMPONENT_READY,
                &mut self.components,
                || health::endpoint_ok(&probe, "/healthz"),
            )
            .await?;
        }
        // The serviceaccount controller running is what lets pods be created.
        let accounts: Api<ServiceAccount> = Api::namespaced(admin, "default");
        wait_until(
            "ServiceAccount default/default",
            COMPONENT_READY,
            &mut self.components,
            || async {
                match accounts.get_opt("default").await {
                    Ok(Some(_)) => Ok(()),
                    Ok(None) => Err("not created yet".to_owned()),
                    Err(e) => Err(e.to_string()),
                }
            },
        )
        .await?;
        self.pki = Some(pki);
        Ok(())
    }

    /// Starts component `name` and registers its process group everywhere
    /// teardown looks (the run's record, the reaper, the signal watcher).
    fn spawn(&mut self, name: &str, args: Vec<String>) -> Result<()> {
        let component = Component::spawn(name, &self.tools.path(name), &args, self.slot.dir())?;
        let pgid = component.pgid();
        self.components.push(component);
        signals::add_group(self.id, pgid);
        self.slot.record_group(pgid)?;
        if let Some(reaper) = self.reaper.as_mut() {
            reaper.watch_group(pgid)?;
        }
        Ok(())
    }

    /// `https://<address>:6443`.
    pub fn server_url(&self) -> String {
        format!("https://{}:{APISERVER_PORT}", self.address)
    }

    /// The apiserver's (and every component's) address, on the run's own interface.
    pub fn address(&self) -> Ipv4Addr {
        self.address
    }

    /// The admin kubeconfig (group `system:masters`).
    pub fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }

    /// The run directory (PKI, kubeconfigs, etcd data, logs).
    pub fn run_dir(&self) -> &Path {
        self.slot.dir()
    }

    /// The run's network interface.
    pub fn link(&self) -> &str {
        &self.link
    }

    /// Process groups of the running components.
    pub fn process_groups(&self) -> Vec<u32> {
        self.components.iter().map(Component::pgid).collect()
    }

    /// The reaper's pid (for tests of the teardown itself).
    pub fn reaper_pid(&self) -> Option<u32> {
        self.reaper.as_ref().map(Reaper::pid)
    }

    /// The control-plane binaries in use.
    pub fn tools(&self) -> &Tools {
        &self.tools
    }

    /// A client with the admin kubeconfig.
    pub async fn client(&self) -> Result<Client> {
        let kubeconfig = Kubeconfig::read_from(&self.kubeconfig)?;
        let config =
            Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default()).await?;
        Ok(Client::try_from(config)?)
    }

    /// A client that authenticates with bearer `token` (e.g. a ServiceAccount's).
    pub fn client_with_token(&self, token: &str) -> Result<Client> {
        let mut config = self.base_config(&self.server_url())?;
        config.auth_info.token = Some(token.to_owned().into());
        Ok(Client::try_from(config)?)
    }

    /// `kubectl` with the admin kubeconfig, its cache inside the run directory.
    pub fn kubectl(&self) -> Command {
        let mut command = Command::new(self.tools.path("kubectl"));
        command
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--cache-dir")
            .arg(self.slot.dir().join("home/.kube/cache"))
            .env("HOME", self.slot.dir().join("home"))
            .env_remove("KUBECONFIG");
        command
    }

    /// The last lines of every component's log, for failure reports.
    pub fn log_tails(&self) -> String {
        self.components
            .iter()
            .map(|c| format!("--- {} ---\n{}", c.name(), c.log_tail(LOG_TAIL_LINES)))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Stops everything and reports what could not be cleaned up.
    pub fn teardown(mut self) -> Result<()> {
        self.shutdown()
    }

    fn base_config(&self, url: &str) -> Result<Config> {
        let uri = url.parse::<http::Uri>().map_err(|e| Error::Io {
            context: format!("parse URL {url}: {e}"),
            source: std::io::ErrorKind::InvalidInput.into(),
        })?;
        let ca_der = match &self.pki {
            Some(pki) => pki.ca_der.clone(),
            None => {
                return Err(Error::Io {
                    context: "the control plane has no PKI yet".to_owned(),
                    source: std::io::ErrorKind::NotFound.into(),
                });
            }
        };
        let mut config = Config::new(uri);
        config.root_cert = Some(vec![ca_der]);
        Ok(config)
    }

    /// A client for a component's own HTTPS port, with no credentials.
    fn anonymous_client(&self, port: u16, pki: &Pki) -> Result<Client> {
        let url = format!("https://{}:{port}", self.address);
        let uri = url.parse::<http::Uri>().map_err(|e| Error::Io {
            context: format!("parse URL {url}: {e}"),
            source: std::io::ErrorKind::InvalidInput.into(),
        })?;
        let mut config = Config::new(uri);
        config.root_cert = Some(vec![pki.ca_der.clone()]);
        Ok(Client::try_from(config)?)
    }

    fn shutdown(&mut self) -> Result<()> {
        if self.torn_down {
            return Ok(());
        }
        self.torn_down = true;
        signals::begin_teardown(self.id);
        let result = self.stop_everything();
        signals::end_teardown();
        result
    }

    fn stop_everything(&mut self) -> Result<()> {
        let mut errors = Vec::new();
        for component in self.components.iter_mut().rev() {
            if let Err(e) = component.stop(STOP_GRACE) {
                errors.push(e.to_string());
            }
        }
        if self.link_created
            && let Err(e) = netif::delete_link(&self.link)
        {
            errors.push(e.to_string());
        }
        if let Err(e) = self.slot.release() {
            errors.push(e.to_string());
        }
        if let Some(mut reaper) = self.reaper.take()
            && let Err(e) = reaper.dismiss(REAPER_EXIT)
        {
            errors.push(e.to_string());
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(Error::Teardown(errors))
        }
    }
}

// Drop reports on stderr rather than through tracing: test binaries install no
// subscriber, and the harness shows a failed test's stderr.
impl Drop for ControlPlane {
    fn drop(&mut self) {
        if std::thread::panicking() && !self.torn_down {
            // The test failed; its output shows this, the logs go with the run dir.
            eprintln!("control plane logs:\n{}", self.log_tails());
        }
        if let Err(e) = self.shutdown() {
            eprintln!("control plane teardown: {e}");
        }
    }
}

/// What the controller-manager and the scheduler have in common.
struct ComponentFlags<'a> {
    dir: &'a Path,
    address: Ipv4Addr,
    pki: &'a Pki,
}

fn path(p: &Path) -> String {
    p.display().to_string()
}

fn etcd_args(dir: &Path, address: Ipv4Addr) -> Vec<String> {
    let client = format!("http://{address}:{ETCD_CLIENT_PORT}");
    let peer = format!("http://{address}:{ETCD_PEER_PORT}");
    vec![
        "--name=rnats-e2e".into(),
        format!("--data-dir={}", path(&dir.join("etcd"))),
        format!("--listen-client-urls={client}"),
        format!("--advertise-client-urls={client}"),
        format!("--listen-peer-urls={peer}"),
        format!("--initial-advertise-peer-urls={peer}"),
        format!("--initial-cluster=rnats-e2e={peer}"),
        // Throwaway data in a temp dir: durability only costs time here.
        "--unsafe-no-fsync=true".into(),
        "--log-level=warn".into(),
    ]
}

fn apiserver_args(dir: &Path, address: Ipv4Addr, pki: &Pki) -> Vec<String> {
    vec![
        format!("--advertise-address={address}"),
        format!("--bind-address={address}"),
        format!("--secure-port={APISERVER_PORT}"),
        format!("--etcd-servers=http://{address}:{ETCD_CLIENT_PORT}"),
        format!("--tls-cert-file={}", path(&pki.apiserver.cert)),
        format!("--tls-private-key-file={}", path(&pki.apiserver.key)),
        format!("--client-ca-file={}", path(&pki.ca.cert)),
        "--authorization-mode=RBAC".into(),
        format!("--service-account-issuer={SERVICE_ACCOUNT_ISSUER}"),
        format!(
            "--service-account-key-file={}",
            path(&pki.service_account_pub)
        ),
        format!(
            "--service-account-signing-key-file={}",
            path(&pki.service_account_key)
        ),
        format!("--service-cluster-ip-range={SERVICE_CIDR}"),
        "--allow-privileged=true".into(),
        "--profiling=false".into(),
        format!("--cert-dir={}", path(&dir.join("apiserver"))),
    ]
}

fn controller_manager_args(flags: &ComponentFlags<'_>, kubeconfig: &Path) -> Vec<String> {
    let pki = flags.pki;
    vec![
        format!("--kubeconfig={}", path(kubeconfig)),
        format!("--authentication-kubeconfig={}", path(kubeconfig)),
        format!("--authorization-kubeconfig={}", path(kubeconfig)),
        format!("--bind-address={}", flags.address),
        format!("--secure-port={CONTROLLER_MANAGER_PORT}"),
        format!(
            "--tls-cert-file={}",
            path(&pki.controller_manager_serving.cert)
        ),
        format!(
            "--tls-private-key-file={}",
            path(&pki.controller_manager_serving.key)
        ),
        format!("--cert-dir={}", path(&flags.dir.join("controller-manager"))),
        format!("--root-ca-file={}", path(&pki.ca.cert)),
        format!(
            "--service-account-private-key-file={}",
            path(&pki.service_account_key)
        ),
        format!("--cluster-signing-cert-file={}", path(&pki.ca.cert)),
        format!("--cluster-signing-key-file={}", path(&pki.ca.key)),
        format!("--service-cluster-ip-range={SERVICE_CIDR}"),
        "--use-service-account-credentials=true".into(),
        "--leader-elect=false".into(),
        "--profiling=false".into(),
    ]
}

fn scheduler_args(flags: &ComponentFlags<'_>, config: &Path, kubeconfig: &Path) -> Vec<String> {
    let pki = flags.pki;
    vec![
        format!("--config={}", path(config)),
        format!("--authentication-kubeconfig={}", path(kubeconfig)),
        format!("--authorization-kubeconfig={}", path(kubeconfig)),
        format!("--bind-address={}", flags.address),
        format!("--secure-port={SCHEDULER_PORT}"),
        format!("--tls-cert-file={}", path(&pki.scheduler_serving.cert)),
        format!(
            "--tls-private-key-file={}",
            path(&pki.scheduler_serving.key)
        ),
        format!("--cert-dir={}", path(&flags.dir.join("scheduler"))),
    ]
}

/// kube-scheduler takes its kubeconfig and leader election from a config file
/// (the equivalent flags are deprecated).
fn write_scheduler_config(config: &Path, kubeconfig: &Path) -> Result<()> {
    let text = format!(
        "apiVersion: kubescheduler.config.k8s.io/v1\n\
         kind: KubeSchedulerConfiguration\n\
         clientConnection:\n  kubeconfig: {}\n\
         leaderElection:\n  leaderElect: false\n",
        serde_json::Value::String(path(kubeconfig))
    );
    std::fs::write(config, text).context(|| at("write", config))
}
