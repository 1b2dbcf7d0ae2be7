//! `/connz` compared with the reference under many option sets: sort keys, time-valued orders.

use super::*;

/// The value a connection is sorted by, when comparable across servers.
fn sort_key(sort: &str, c: &Value) -> Option<Value> {
    let field = match sort {
        "" | "cid" | "start" => "cid",
        "subs" => "subscriptions",
        "pending" => "pending_bytes",
        "msgs_to" => "out_msgs",
        "msgs_from" => "in_msgs",
        "bytes_to" => "out_bytes",
        "bytes_from" => "in_bytes",
        "reason" => "reason",
        _ => return None,
    };
    Some(c[field].clone())
}

/// Whether rnats' own order for a time-valued sort is right.
fn time_order_ok(sort: &str, conns: &[Value]) -> bool {
    let t = |c: &Value, k: &str| {
        c[k].as_str()
            .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
            .map(|t| t.timestamp_nanos_opt().unwrap_or(0))
    };
    let now = chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0);
    let keys: Vec<i64> = conns
        .iter()
        .map(|c| match sort {
            "last" => -t(c, "last_activity").unwrap_or(0),
            "idle" => t(c, "last_activity").unwrap_or(0),
            "uptime" => t(c, "stop").unwrap_or(now) - t(c, "start").unwrap_or(0),
            "stop" => -t(c, "stop").unwrap_or(0),
            "rtt" => -(go_duration_nanos(c["rtt"].as_str().unwrap_or("")) as i64),
            _ => 0,
        })
        .collect();
    keys.windows(2).all(|w| w[0] <= w[1])
}

/// Parses a Go `time.Duration` string such as `1m2.5s` or `721µs` into nanoseconds.
fn go_duration_nanos(s: &str) -> f64 {
    let mut total = 0.0;
    let mut num = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() || c == '.' {
            num.push(c);
            continue;
        }
        let mut unit = c.to_string();
        while let Some(&n) = chars.peek() {
            if n.is_ascii_digit() || n == '.' {
                break;
            }
            unit.push(n);
            chars.next();
        }
        let scale = match unit.as_str() {
            "ns" => 1.0,
            "µs" | "us" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => f64::NAN,
        };
        total += num.parse::<f64>().unwrap_or(f64::NAN) * scale;
        num.clear();
    }
    total
}

const CONNZ_QUERIES: &[&str] = &[
    "/connz",
    "/connz?subs=1",
    "/connz?subs=true&sort=subs",
    "/connz?subs=detail",
    "/connz?subs=DETAIL&sort=msgs_to",
    "/connz?sort=msgs_from",
    "/connz?sort=bytes_to",
    "/connz?sort=bytes_from",
    "/connz?sort=pending",
    "/connz?sort=start",
    "/connz?sort=cid",
    "/connz?sort=last",
    "/connz?sort=idle",
    "/connz?sort=uptime",
    "/connz?sort=rtt",
    "/connz?state=closed",
    "/connz?state=closed&subs=detail",
    "/connz?state=closed&subs=1",
    "/connz?state=closed&sort=reason",
    "/connz?state=closed&sort=stop",
    "/connz?state=any&subs=1",
    "/connz?state=ALL&sort=msgs_to",
    "/connz?state=any&sort=bytes_from&offset=1&limit=3",
    "/connz?offset=1&limit=1",
    "/connz?sort=msgs_to&offset=1&limit=2",
    "/connz?offset=10",
    "/connz?limit=0&offset=-3",
    "/connz?limit=-1",
    "/connz?cid={sub1}",
    "/connz?cid={sub2}&subs=detail&auth=true",
    "/connz?cid={gone}",
    "/connz?cid={gone}&state=closed&subs=detail",
    "/connz?cid={gone}&state=any",
    "/connz?cid=999999",
    "/connz?auth=1",
    "/connz?auth=1&state=closed",
    "/connz?acc=$G",
    "/connz?acc=%24G&state=any",
    "/connz?acc=nope",
    "/connz?user=nobody",
    "/connz?user=nobody&state=any",
    "/connz?mqtt_client=x",
    "/connz?state=open&sort=",
    "/connz?state=open&sort=rtt&auth=t&subs=F&offset=%zz",
];

pub(super) fn compare_connz(runs: &[Run; 2], errs: &mut Vec<String>) {
    for template in CONNZ_QUERIES {
        let mut got: Vec<Value> = runs
            .iter()
            .map(|r| {
                let mut v = r.server.json(&r.path(template));
                r.name_cids(&mut v);
                v
            })
            .collect();
        let sort = template
            .split(['?', '&'])
            .find_map(|p| p.strip_prefix("sort="))
            .unwrap_or("");
        let keys: Vec<Option<Vec<Value>>> = got
            .iter()
            .map(|v| {
                v["connections"]
                    .as_array()
                    .map(|cs| cs.iter().filter_map(|c| sort_key(sort, c)).collect())
            })
            .collect();
        if keys[0] != keys[1] {
            errs.push(format!(
                "{template}: order by {sort:?} differs: reference {:?} vs rnats {:?}",
                keys[0], keys[1]
            ));
        }
        if let Some(cs) = got[1]["connections"].as_array()
            && !time_order_ok(sort, cs)
        {
            errs.push(format!(
                "{template}: rnats not ordered by {sort}: {}",
                got[1]
            ));
        }
        for v in &mut got {
            if let Some(cs) = v.get_mut("connections").and_then(Value::as_array_mut) {
                cs.sort_by_key(|c| c["cid"].to_string());
                for c in cs.iter_mut() {
                    // What a closed connection still had queued depends on when its writer
                    // stopped relative to the close (racy in the reference too).
                    if c.get("stop").is_some() && c["pending_bytes"].is_number() {
                        c["pending_bytes"] = Value::from(0);
                    }
                    if let Some(l) = c
                        .get_mut("subscriptions_list")
                        .and_then(Value::as_array_mut)
                    {
                        l.sort_by_key(|s| s.to_string());
                    }
                    if let Some(l) = c
                        .get_mut("subscriptions_list_detail")
                        .and_then(Value::as_array_mut)
                    {
                        l.sort_by_key(|s| (s["subject"].to_string(), s["sid"].to_string()));
                    }
                }
            }
        }
        check(errs, template, &got[0], &got[1], CONN_MASKED);
    }
}

/// `max_closed_clients` bounds `/connz?state=closed` to the newest closes, in both servers.
#[test]
fn max_closed_clients_keeps_the_newest_closes() {
    let conf = std::env::temp_dir().join(format!("rnats-max-closed-{}.conf", std::process::id()));
    std::fs::write(&conf, "max_closed_clients: 2\n").expect("write config");
    let conf_s = conf.display().to_string();
    for (name, bin) in [("nats-server", reference_bin()), ("rnats", rnats_bin())] {
        let server = Server::start_with(name, &bin, &["-c", &conf_s]);
        for i in 0..3 {
            server.client(&format!("c{i}")).close();
        }
        let names = |v: &Value| -> Vec<String> {
            let mut n: Vec<String> = v["connections"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|c| c["name"].as_str().map(str::to_string))
                .collect();
            n.sort();
            n
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let v = server.json("/connz?state=closed");
            if v["total"] == 2 && names(&v) == ["c1", "c2"] {
                break;
            }
            assert!(Instant::now() < deadline, "{name}: {v}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    let _ = std::fs::remove_file(&conf);
}
