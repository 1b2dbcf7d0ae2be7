//! `rnats-icount`: fixed, deterministic workloads for instruction counting under valgrind's
//! callgrind (`make bench-smoke` compares their counts with `bench/baselines/`).
//!
//! `rnats-icount parser|sublist|fanout|pubonly` runs one workload and prints what it did; it exits
//! non-zero if the workload's own result is wrong (a count mismatch). No timing, no
//! threads, no randomness of its own: the same binary yields the same instruction count
//! within a fraction of a percent (hash seeds are the remaining noise).

mod fanout;
mod parser;
mod pubonly;
mod sublist;

use std::process::ExitCode;

fn main() -> ExitCode {
    let which = std::env::args().nth(1).unwrap_or_default();
    let result = match which.as_str() {
        "parser" => parser::run(),
        "sublist" => sublist::run(),
        "fanout" => fanout::run(),
        "pubonly" => pubonly::run(),
        _ => {
            eprintln!("usage: rnats-icount parser|sublist|fanout|pubonly");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(summary) => {
            eprintln!("rnats-icount {which}: {summary}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("rnats-icount {which}: {e:#}");
            ExitCode::FAILURE
        }
    }
}
