//! `/subsz`, `/routez`, `/healthz`, `/accountz` and the option errors compared with the
//! reference.

use super::*;

const SUBSZ_QUERIES: &[&str] = &[
    "/subsz",
    "/subsz?acc=$G",
    "/subscriptionsz?acc=$G",
    "/subsz?subs=1",
    "/subsz?subs=1&acc=$G",
    "/subsz?subs=1&test=foo",
    "/subsz?subs=true&test=bar.x",
    "/subsz?subs=1&test=baz.q.r",
    "/subsz?subs=1&test=nomatch",
    "/subsz?test=foo",
    "/subsz?subs=1&acc=nope",
    "/subsz?acc=nope",
    "/subsz?offset=2&limit=3",
    "/subsz?subs=0&limit=-5&offset=-1",
];

pub(super) fn compare_subsz(runs: &[Run; 2], errs: &mut Vec<String>) {
    let [reference, rnats] = runs;
    for q in SUBSZ_QUERIES {
        let mut a = reference.server.json(q);
        let mut b = rnats.server.json(q);
        let global = q.contains("acc=$G");
        let other_acc = q.contains("acc=") && !global;
        for (run, v) in [(reference, &mut a), (rnats, &mut b)] {
            if !other_acc {
                let base = if global {
                    &run.base_subsz_g
                } else {
                    &run.base_subsz
                };
                for k in ["num_subscriptions", "num_inserts", "num_removes"] {
                    subtract(v, k, base[k].as_u64().unwrap_or(0));
                }
            }
            // The internal subscriptions (system account services and imports).
            if let Some(list) = v
                .get_mut("subscriptions_list")
                .and_then(Value::as_array_mut)
            {
                let before = list.len();
                list.retain(|s| {
                    s["cid"]
                        .as_u64()
                        .is_some_and(|c| run.names.contains_key(&c))
                });
                let internal = (before - list.len()) as u64;
                let empty = list.is_empty();
                subtract(v, "total", internal);
                if empty {
                    take(v, "subscriptions_list");
                }
            }
        }
        for (run, v) in [(reference, &mut a), (rnats, &mut b)] {
            run.name_cids(v);
            if let Some(l) = v
                .get_mut("subscriptions_list")
                .and_then(Value::as_array_mut)
            {
                l.sort_by_key(|s| (s["cid"].to_string(), s["sid"].to_string()));
            }
        }
        let mut masked = vec!["server_id", "now", "num_matches", "cache_hit_rate"];
        if !global {
            masked.extend(["num_cache", "max_fanout", "avg_fanout"]);
        }
        check(errs, q, &a, &b, &masked);
    }
}

/// `/routez`, `/healthz` and `/accountz`: shapes and values.
pub(super) fn compare_simple(runs: &[Run; 2], errs: &mut Vec<String>) {
    let [reference, rnats] = runs;
    for q in ["/routez", "/routez?subs=1", "/routez?subs=detail"] {
        let a = reference.server.json(q);
        let b = rnats.server.json(q);
        check(errs, q, &a, &b, &["server_id", "server_name", "now"]);
    }
    // The account list is in map order in the reference: compared sorted.
    let mut a = reference.server.json("/accountz");
    let mut b = rnats.server.json("/accountz");
    for v in [&mut a, &mut b] {
        if let Some(l) = v.get_mut("accounts").and_then(Value::as_array_mut) {
            l.sort_by_key(|x| x.to_string());
        }
    }
    check(errs, "/accountz", &a, &b, &["server_id", "now"]);
}

/// Responses compared as raw bytes: status, content type, body.
const RAW_QUERIES: &[&str] = &[
    "/healthz",
    "/healthz?js-enabled-only=true",
    "/healthz?js-server-only=1&details=true",
    "/healthz?js-enabled=true&js-meta-only=1",
    "/healthz?stream=s",
    "/healthz?stream=s&details=1",
    "/healthz?consumer=c&account=a",
    "/healthz?details=maybe",
    "/healthz?js-enabled-only=2",
    "/connz?sort=bogus",
    "/connz?sort=stop",
    "/connz?sort=reason&state=any",
    "/connz?auth=maybe",
    "/connz?subs=yes",
    "/connz?offset=x",
    "/connz?limit=1.5",
    "/connz?limit=99999999999999999999",
    "/connz?cid=-1",
    "/connz?cid=%2B1",
    "/connz?cid=99999999999999999999",
    "/connz?state=half",
    "/subsz?subs=x",
    "/subsz?subs=1&test=foo.*",
    "/subsz?test=foo..bar",
    "/subsz?limit=z",
    "/routez?subs=x",
    "/accountz?acc=nope",
    "/nonexistent",
    "/varz/",
];

pub(super) fn compare_errors(runs: &[Run; 2], errs: &mut Vec<String>) {
    let [reference, rnats] = runs;
    for q in RAW_QUERIES {
        let a = reference.server.get(q);
        let b = rnats.server.get(q);
        if a.status != b.status || a.body != b.body {
            errs.push(format!(
                "{q}: reference {} {:?} vs rnats {} {:?}",
                a.status,
                a.text(),
                b.status,
                b.text()
            ));
        }
        for h in ["content-type", "access-control-allow-origin"] {
            if a.header(h) != b.header(h) {
                errs.push(format!(
                    "{q}: header {h}: reference {:?} vs rnats {:?}",
                    a.header(h),
                    b.header(h)
                ));
            }
        }
    }
}

/// `http_base_path` moves every endpoint under a prefix, in both servers.
#[test]
fn http_base_path_prefixes_the_endpoints() {
    let conf = std::env::temp_dir().join(format!("rnats-base-path-{}.conf", std::process::id()));
    std::fs::write(&conf, "http_base_path: \"nats//mon/\"\n").expect("write config");
    let conf_s = conf.display().to_string();
    let mut seen = Vec::new();
    for (name, bin) in [("nats-server", reference_bin()), ("rnats", rnats_bin())] {
        let server = Server::start_probing(name, &bin, &["-c", &conf_s], "/nats/mon/healthz");
        let status = |p: &str| server.get(p).status;
        let got = [
            status("/nats/mon/varz"),
            status("/nats/mon/connz"),
            status("/nats/mon/healthz"),
            status("/nats/mon"),
            status("/varz"),
            status("/"),
        ];
        assert_eq!(got, [200, 200, 200, 200, 404, 404], "{name}");
        let varz = server.json("/nats/mon/varz");
        assert_eq!(varz["http_base_path"], "nats//mon/", "{name}");
        seen.push(got);
    }
    assert_eq!(seen[0], seen[1]);
    let _ = std::fs::remove_file(&conf);
}

/// `server_tags` (trimmed, lower-cased, deduplicated) and `server_metadata` in `/varz`, as the
/// reference shows them.
#[test]
fn server_tags_and_metadata_in_varz() {
    let conf = std::env::temp_dir().join(format!("rnats-tags-{}.conf", std::process::id()));
    std::fs::write(
        &conf,
        "server_tags: [\"Az\", \" b \", \"az\", \"region:EU\"]\nserver_metadata: { k: v, Z: \"y\" }\n",
    )
    .expect("write config");
    let conf_s = conf.display().to_string();
    let mut seen = Vec::new();
    for (name, bin) in [("nats-server", reference_bin()), ("rnats", rnats_bin())] {
        let server = Server::start_with(name, &bin, &["-c", &conf_s]);
        let varz = server.json("/varz");
        seen.push((varz["tags"].clone(), varz["metadata"].clone()));
    }
    assert_eq!(seen[0], seen[1]);
    assert_eq!(seen[1].0, serde_json::json!(["az", "b", "region:eu"]));
    let _ = std::fs::remove_file(&conf);
}
