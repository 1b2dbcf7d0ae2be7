//! Field-by-field JSON comparison: same keys in the same order, same value types, equal
//! values except for masked keys (whose values may differ but must keep their type).

#![allow(dead_code)]

use serde_json::Value;

/// The JSON type of a value; numbers are one type (Go's `int` and `float64` both print as
/// JSON numbers), but `2` and `2.0` are different values.
fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Compares `reference` with `rnats` under `path`, appending differences to `errs`.
/// `masked(key)` tells which keys may differ in value.
pub fn compare(
    path: &str,
    reference: &Value,
    rnats: &Value,
    masked: &dyn Fn(&str) -> bool,
    errs: &mut Vec<String>,
) {
    if kind(reference) != kind(rnats) {
        errs.push(format!(
            "{path}: type {} (reference {reference}) vs {} (rnats {rnats})",
            kind(reference),
            kind(rnats)
        ));
        return;
    }
    match (reference, rnats) {
        (Value::Object(a), Value::Object(b)) => {
            let ka: Vec<&String> = a.keys().collect();
            let kb: Vec<&String> = b.keys().collect();
            if ka != kb {
                errs.push(format!(
                    "{path}: keys differ\n  reference {ka:?}\n  rnats     {kb:?}"
                ));
            }
            for (k, va) in a {
                let Some(vb) = b.get(k) else { continue };
                let p = format!("{path}.{k}");
                if masked(k) {
                    if kind(va) != kind(vb) {
                        errs.push(format!(
                            "{p}: type {} (reference {va}) vs {} (rnats {vb})",
                            kind(va),
                            kind(vb)
                        ));
                    }
                } else {
                    compare(&p, va, vb, masked, errs);
                }
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            if a.len() != b.len() {
                errs.push(format!(
                    "{path}: {} items (reference) vs {} (rnats)\n  reference {reference}\n  rnats     {rnats}",
                    a.len(),
                    b.len()
                ));
                return;
            }
            for (i, (va, vb)) in a.iter().zip(b).enumerate() {
                compare(&format!("{path}[{i}]"), va, vb, masked, errs);
            }
        }
        _ => {
            if reference != rnats {
                errs.push(format!("{path}: reference {reference} vs rnats {rnats}"));
            }
        }
    }
}

/// Removes `key` from an object, returning its value.
pub fn take(v: &mut Value, key: &str) -> Option<Value> {
    v.as_object_mut().and_then(|o| o.shift_remove(key))
}

/// Subtracts `by` from the number at `key` (reference baselines).
pub fn subtract(v: &mut Value, key: &str, by: u64) {
    if let Some(x) = v.get_mut(key)
        && let Some(n) = x.as_u64()
    {
        *x = Value::from(n.saturating_sub(by));
    }
}
