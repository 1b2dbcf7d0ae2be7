//! `/metrics` checked against the JSON endpoints of the same server.

use super::*;

/// `/metrics` parses as Prometheus text, and its counters equal the JSON endpoints'.
#[test]
fn metrics_match_json_endpoints() {
    let mut run = Run::new(Server::start("rnats", &rnats_bin()));
    run.traffic();
    let s = &run.server;
    let resp = s.get("/metrics");
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert!(
        resp.header("content-type")
            .is_some_and(|c| c.starts_with("text/plain; version=0.0.4")),
        "content type {:?}",
        resp.header("content-type")
    );
    let text = resp.text();
    let m = prom::parse(&text).unwrap_or_else(|e| panic!("/metrics does not parse: {e}\n{text}"));
    let varz = s.json("/varz");
    let connz = s.json("/connz");
    let closed = s.json("/connz?state=closed");
    let subsz = s.json("/subsz");
    let accstatz = s.json("/accstatz?unused=1");
    let id = varz["server_id"].as_str().expect("server_id").to_string();
    let sid = [("server_id", id.as_str())];
    let mut errs = Vec::new();
    let mut expect = |name: &str, labels: &[(&str, &str)], want: f64, kind: &str| {
        let mut all = sid.to_vec();
        all.extend_from_slice(labels);
        match m.value(name, &all) {
            Some(v) if v == want => {}
            other => errs.push(format!("{name}{labels:?}: {other:?}, want {want}")),
        }
        let family = m.types.get(name).map(String::as_str);
        if family != Some(kind) {
            errs.push(format!("{name}: type {family:?}, want {kind}"));
        }
    };
    let num = |v: &Value, k: &str| v[k].as_f64().unwrap_or(f64::NAN);
    for k in [
        "in_msgs",
        "out_msgs",
        "in_bytes",
        "out_bytes",
        "in_client_msgs",
        "out_client_bytes",
        "connections",
        "total_connections",
        "slow_consumers",
        "stale_connections",
        "subscriptions",
        "max_payload",
        "max_connections",
        "ping_interval",
        "write_deadline",
        "auth_timeout",
        "routes",
    ] {
        expect(&format!("nats_varz_{k}"), &[], num(&varz, k), "gauge");
    }
    expect(
        "nats_varz_slow_consumer_stats_clients",
        &[],
        num(&varz["slow_consumer_stats"], "clients"),
        "gauge",
    );
    expect("nats_varz_server_id", &[("value", &id)], 1.0, "gauge");
    expect("nats_varz_version", &[("value", "2.15.1")], 1.0, "gauge");
    let start = chrono::DateTime::parse_from_rfc3339(varz["start"].as_str().unwrap_or(""))
        .map(|t| t.timestamp_millis() as f64)
        .unwrap_or(f64::NAN);
    expect("nats_varz_start", &[], start, "gauge");
    for k in [
        "num_subscriptions",
        "num_inserts",
        "num_removes",
        "total",
        "limit",
    ] {
        expect(&format!("nats_subsz_{k}"), &[], num(&subsz, k), "gauge");
    }
    expect("nats_routez_num_routes", &[], 0.0, "gauge");
    let g = accstatz["account_statz"]
        .as_array()
        .and_then(|a| a.iter().find(|x| x["acc"] == "$G"))
        .cloned()
        .unwrap_or_default();
    let acc = [("account", "$G"), ("account_name", "$G")];
    expect(
        "nats_accstatz_current_connections",
        &acc,
        num(&g, "conns"),
        "gauge",
    );
    expect(
        "nats_accstatz_received_messages",
        &acc,
        num(&g["received"], "msgs"),
        "gauge",
    );
    expect(
        "nats_accstatz_sent_bytes",
        &acc,
        num(&g["sent"], "bytes"),
        "gauge",
    );
    let conns = connz["connections"].as_array().cloned().unwrap_or_default();
    let sum = |k: &str| conns.iter().map(|c| num(c, k)).sum::<f64>();
    for k in ["num_connections", "total", "offset", "limit"] {
        expect(&format!("nats_connz_{k}"), &[], num(&connz, k), "gauge");
    }
    expect(
        "nats_connz_subscriptions",
        &[],
        sum("subscriptions"),
        "gauge",
    );
    for k in ["in_msgs", "out_msgs", "in_bytes", "out_bytes"] {
        expect(&format!("nats_connz_{k}"), &[], sum(k), "counter");
    }
    expect("nats_healthz_status", &[], 0.0, "gauge");
    expect(
        "nats_healthz_status_value",
        &[("value", "ok")],
        1.0,
        "gauge",
    );
    for (k, name) in [
        ("in_msgs", "rnats_in_msgs_total"),
        ("out_msgs", "rnats_out_msgs_total"),
        ("in_bytes", "rnats_in_bytes_total"),
        ("out_bytes", "rnats_out_bytes_total"),
        ("total_connections", "rnats_connections_total"),
        ("slow_consumers", "rnats_slow_consumers_total"),
        ("stale_connections", "rnats_stale_connections_total"),
    ] {
        expect(name, &[], num(&varz, k), "counter");
    }
    let mut reasons: BTreeMap<String, f64> = BTreeMap::new();
    for c in closed["connections"]
        .as_array()
        .cloned()
        .unwrap_or_default()
    {
        *reasons
            .entry(c["reason"].as_str().unwrap_or("").to_string())
            .or_default() += 1.0;
    }
    assert_eq!(reasons.len(), 3, "closed reasons: {closed}");
    for (reason, n) in &reasons {
        expect(
            "rnats_connections_closed_total",
            &[("reason", reason)],
            *n,
            "counter",
        );
    }
    expect("rnats_closed_connections_retained", &[], 3.0, "gauge");
    // Pending bytes move between the scrape and /connz: only its presence and type.
    if m.value("nats_connz_pending_bytes", &sid)
        .is_none_or(|v| v < 0.0)
        || m.types.get("nats_connz_pending_bytes").map(String::as_str) != Some("gauge")
    {
        errs.push("nats_connz_pending_bytes missing or not a gauge".into());
    }
    // Every family carries server_id, and every nats_ family is one the exporter knows.
    for sample in &m.samples {
        if sample.labels.get("server_id") != Some(&id) {
            errs.push(format!(
                "{} without server_id: {:?}",
                sample.name, sample.labels
            ));
        }
        let known = [
            "nats_varz_",
            "nats_connz_",
            "nats_subsz_",
            "nats_routez_",
            "nats_healthz_",
            "nats_accstatz_",
        ];
        if !sample.name.starts_with("rnats_") && !known.iter().any(|p| sample.name.starts_with(p)) {
            errs.push(format!("unexpected family {}", sample.name));
        }
    }
    assert!(
        errs.is_empty(),
        "{}\n--- /metrics:\n{text}",
        errs.join("\n")
    );
}
