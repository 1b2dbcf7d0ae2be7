//! Masking what must differ between servers (ids, names, ports, versions) in INFO lines.

use super::*;

pub(super) fn mask_events(events: &[Event]) -> Vec<Event> {
    events
        .iter()
        .map(|e| match &e.ev {
            Ev::Recv(b) => Event {
                ev: Ev::Recv(mask_stream(b)),
                ..e.clone()
            },
            _ => e.clone(),
        })
        .collect()
}

/// Masks every INFO line (one starting at a line start) in `data`.
pub(super) fn mask_stream(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let mut i = 0;
    while i < data.len() {
        let at_line_start = i == 0 || data[i - 1] == b'\n';
        if at_line_start
            && data[i..].starts_with(b"INFO ")
            && let Some((masked, used)) = mask_info(&data[i..])
        {
            out.extend_from_slice(&masked);
            i += used;
            continue;
        }
        out.push(data[i]);
        i += 1;
    }
    out
}

pub(super) fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\r' | b'\n') {
        i += 1;
    }
    i
}

/// End (exclusive) of the JSON string starting at `b[i] == '"'`.
pub(super) fn json_string_end(b: &[u8], mut i: usize) -> Option<usize> {
    if b.get(i) != Some(&b'"') {
        return None;
    }
    i += 1;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// End (exclusive) of the JSON value starting at `b[i]`.
pub(super) fn json_value_end(b: &[u8], i: usize) -> Option<usize> {
    match *b.get(i)? {
        b'"' => json_string_end(b, i),
        open @ (b'{' | b'[') => {
            let close = if open == b'{' { b'}' } else { b']' };
            let mut j = skip_ws(b, i + 1);
            if b.get(j) == Some(&close) {
                return Some(j + 1);
            }
            loop {
                if open == b'{' {
                    j = skip_ws(b, json_string_end(b, j)?);
                    if b.get(j) != Some(&b':') {
                        return None;
                    }
                    j = skip_ws(b, j + 1);
                }
                j = skip_ws(b, json_value_end(b, j)?);
                match b.get(j)? {
                    b',' => j = skip_ws(b, j + 1),
                    c if *c == close => return Some(j + 1),
                    _ => return None,
                }
            }
        }
        _ => {
            let mut j = i;
            while j < b.len() && !matches!(b[j], b',' | b'}' | b']' | b' ' | b'\t' | b'\r' | b'\n')
            {
                j += 1;
            }
            (j > i).then_some(j)
        }
    }
}

/// Masks `INFO {json}`: returns the masked bytes and how many input bytes they replace
/// (through the closing brace; what follows is kept verbatim by the caller).
pub(super) fn mask_info(b: &[u8]) -> Option<(Vec<u8>, usize)> {
    let start = skip_ws(b, 4);
    if b.get(start) != Some(&b'{') {
        return None;
    }
    let end = json_value_end(b, start)?;
    // Members of the top-level object: (separator before it, key start, value start, value end).
    let mut edits: Vec<(usize, usize, Vec<u8>)> = Vec::new();
    let mut j = skip_ws(b, start + 1);
    let mut first = true;
    let mut prev_sep = start; // position of '{' or the ','
    while j < end - 1 {
        let key_start = j;
        let key_end = json_string_end(b, j)?;
        let key = std::str::from_utf8(&b[key_start + 1..key_end - 1]).ok()?;
        j = skip_ws(b, key_end);
        j = skip_ws(b, j + 1); // ':'
        let val_start = j;
        let val_end = json_value_end(b, j)?;
        j = skip_ws(b, val_end);
        let sep = j; // ',' or '}'
        if MASKED_INFO_KEYS.contains(&key) {
            let placeholder: &[u8] = match b[val_start] {
                b'"' => b"\"<masked>\"",
                b'[' => b"[\"<masked>\"]",
                b'{' => b"{\"<masked>\":0}",
                b't' | b'f' => b"<masked-bool>",
                b'n' => b"null",
                _ => b"<masked-number>",
            };
            edits.push((val_start, val_end, placeholder.to_vec()));
        } else if REMOVED_INFO_KEYS.contains(&key) {
            if first {
                // Remove the member and the comma after it (if any).
                let to = if b[sep] == b',' {
                    skip_ws(b, sep + 1)
                } else {
                    val_end
                };
                edits.push((key_start, to, Vec::new()));
            } else {
                edits.push((prev_sep, val_end, Vec::new()));
            }
        }
        first = false;
        prev_sep = sep;
        j = if b[sep] == b',' {
            skip_ws(b, sep + 1)
        } else {
            sep
        };
        if b[sep] == b'}' {
            break;
        }
    }
    let mut out = b[..start].to_vec();
    let mut pos = start;
    for (from, to, with) in edits {
        out.extend_from_slice(&b[pos..from]);
        out.extend_from_slice(&with);
        pos = to;
    }
    out.extend_from_slice(&b[pos..end]);
    Some((out, end))
}
