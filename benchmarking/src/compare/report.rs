//! Output: the console table and the `BENCHMARKS.md` section.
//!
//! The markdown section sits between [`START_MARKER`] and [`END_MARKER`]; rewriting it
//! replaces only what lies between them (markers included), so other sections of the file
//! survive reruns.

use super::run::{compute_geomean, summarize, WorkloadResult};
use super::stats::format_duration;
use super::workloads::Set;
use anyhow::{bail, Context, Result};
use std::fmt::Write as _;
use std::path::Path;
use std::time::SystemTime;

/// Opens the generated section.
pub const START_MARKER: &str = "<!-- interpreter-comparison:start -->";
/// Closes the generated section.
pub const END_MARKER: &str = "<!-- interpreter-comparison:end -->";

/// The first goal: pvm-core takes at most this fraction of polkavm's time on our compute
/// guests.
pub const GOAL_RATIO: f64 = 0.5;

/// Issue 14's goal on the real-code corpus: the geometric mean of exec ours/polkavm.
pub const CORPUS_GOAL_GEOMEAN: f64 = 0.45;

/// Issue 14's goal on the real-code corpus: no call above this exec ratio.
pub const CORPUS_GOAL_MAX: f64 = 0.6;

/// One table: the workloads of one set measured with one gas-metering setting.
#[derive(Clone, Debug)]
pub struct Table {
    /// Whether gas metering was on.
    pub gas_metering: bool,
    /// Which workloads.
    pub set: Set,
    /// Per-workload results, in run order.
    pub results: Vec<WorkloadResult>,
}

impl Table {
    /// Heading for this table.
    pub fn title(&self) -> String {
        let set = match self.set {
            Set::Corpus => "Real-code corpus",
            Set::Guests => "Our guests",
        };
        let metering = if self.gas_metering {
            "gas metering on (synchronous, naive cost model)"
        } else {
            "gas metering off"
        };
        format!("{set}, {metering}")
    }
}

const HEADERS: [&str; 12] = [
    "workload",
    "ours exec median",
    "ours exec min",
    "polkavm exec median",
    "polkavm exec min",
    "exec ours/polkavm",
    "exec ours/polkavm (min)",
    "compile ours",
    "compile polkavm",
    "compile ours/polkavm",
    "gas used",
    "ours ns/gas (min)",
];

fn rows(table: &Table) -> Vec<[String; 12]> {
    table
        .results
        .iter()
        .map(|r| {
            [
                r.workload.name.clone(),
                format_duration(r.ours.exec_median()),
                format_duration(r.ours.exec_min()),
                format_duration(r.polkavm.exec_median()),
                format_duration(r.polkavm.exec_min()),
                format!("{:.2}", r.exec_ratio()),
                format!("{:.2}", r.exec_ratio_min()),
                format_duration(r.ours.compile_median()),
                format_duration(r.polkavm.compile_median()),
                format!("{:.2}", r.compile_ratio()),
                r.outcome
                    .gas_used
                    .map_or_else(|| "-".to_string(), |g| g.to_string()),
                r.ns_per_gas()
                    .map_or_else(|| "-".to_string(), |ns| format!("{ns:.2}")),
            ]
        })
        .collect()
}

/// Met or not, in words.
pub fn verdict(met: bool) -> &'static str {
    if met {
        "goal met"
    } else {
        "goal NOT met"
    }
}

/// The summary line: for the corpus, the geometric mean, median and highest exec ratio
/// against issue 14's goals; for our guests, the geometric mean over the compute
/// workloads against the first goal.
pub fn summary_line(table: &Table) -> String {
    if table.set == Set::Corpus {
        let Some(s) = summarize(&table.results, Set::Corpus) else {
            return "No corpus workloads measured.".to_string();
        };
        return format!(
            "Real-code corpus, {} calls: exec ours/polkavm geometric mean {:.3} on medians \
             ({:.3} on minima; goal <= {CORPUS_GOAL_GEOMEAN}: {}), median {:.2}, highest {:.2} \
             ({}; goal <= {CORPUS_GOAL_MAX} for every call: {})",
            s.count,
            s.geomean,
            s.geomean_min,
            verdict(s.geomean <= CORPUS_GOAL_GEOMEAN),
            s.median,
            s.highest.0,
            s.highest.1,
            verdict(s.highest.0 <= CORPUS_GOAL_MAX),
        );
    }
    let (geomean, count) = compute_geomean(&table.results);
    if count == 0 {
        return "No compute workloads measured.".to_string();
    }
    format!(
        "Our guests: geometric mean of exec time ours/polkavm over {count} compute workloads: \
         {geomean:.3} (goal <= {GOAL_RATIO}: {})",
        verdict(geomean <= GOAL_RATIO)
    )
}

/// A plain-text table for the terminal.
pub fn console_table(table: &Table) -> String {
    let rows = rows(table);
    let mut widths = HEADERS.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let mut out = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            let pad = w - cell.chars().count();
            if i == 0 {
                let _ = write!(out, "{cell}{}", " ".repeat(pad));
            } else {
                let _ = write!(out, "  {}{cell}", " ".repeat(pad));
            }
        }
        out.push('\n');
        out
    };
    let mut out = format!("{}\n", table.title());
    out += &line(&HEADERS.map(String::from));
    out += &format!(
        "{}\n",
        "-".repeat(widths.iter().sum::<usize>() + 2 * (widths.len() - 1))
    );
    for row in &rows {
        out += &line(row);
    }
    out += &summary_line(table);
    out.push('\n');
    out
}

/// A markdown table followed by the summary line.
pub fn markdown_table(table: &Table) -> String {
    let mut out = format!("| {} |\n", HEADERS.join(" | "));
    out += "|---|";
    out += &"---:|".repeat(HEADERS.len() - 1);
    out.push('\n');
    for row in rows(table) {
        out += &format!("| {} |\n", row.join(" | "));
    }
    out += &format!("\n**{}**\n", summary_line(table));
    out
}

/// Where and how the numbers were taken.
#[derive(Clone, Debug)]
pub struct Environment {
    /// UTC date and time of the run, `YYYY-MM-DD HH:MM UTC`.
    pub date: String,
    /// Logical CPUs available (what `nproc` prints).
    pub nproc: usize,
    /// `model name` from `/proc/cpuinfo`.
    pub cpu_model: String,
    /// `rustc --version`.
    pub rustc: String,
    /// `git describe`-style commit of the workspace, with `-dirty` when modified.
    pub commit: String,
    /// The command line that reproduces the run.
    pub command: String,
    /// Executions per VM and workload.
    pub runs: usize,
    /// Compilations per VM and workload.
    pub compile_runs: usize,
    /// The 1/5/15-minute load averages when the run started (other work on the machine
    /// makes timings noisier).
    pub load_average: String,
}

impl Environment {
    /// Detects the machine; `command`, `runs`, `compile_runs` and `load_average` (see
    /// [`load_average`], taken before measuring) describe this invocation.
    pub fn detect(
        command: String,
        runs: usize,
        compile_runs: usize,
        load_average: String,
    ) -> Environment {
        let nproc = std::thread::available_parallelism().map_or(1, |n| n.get());
        let cpu_model = cpu_model();
        let rustc =
            command_output("rustc", &["--version"]).unwrap_or_else(|| "unknown".to_string());
        let commit = command_output("git", &["describe", "--always", "--dirty"])
            .unwrap_or_else(|| "unknown".to_string());
        Environment {
            date: utc_date_time(SystemTime::now()),
            nproc,
            cpu_model,
            rustc,
            commit,
            command,
            runs,
            compile_runs,
            load_average,
        }
    }
}

/// The CPU's `model name` from `/proc/cpuinfo` (`"unknown"` where there is none).
pub fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".to_string())
}

/// The first three fields of `/proc/loadavg` (`"unknown"` where there is none).
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|| "unknown".to_string())
}

fn command_output(program: &str, args: &[&str]) -> Option<String> {
    let output = std::process::Command::new(program)
        .args(args)
        .output()
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_string())
}

/// `YYYY-MM-DD HH:MM UTC` for a system time (proleptic Gregorian calendar).
pub fn utc_date_time(time: SystemTime) -> String {
    let secs = time
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Howard Hinnant's civil_from_days.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        rem / 3600,
        (rem % 3600) / 60
    )
}

/// The full generated section, markers included.
pub fn markdown_section(env: &Environment, tables: &[Table]) -> String {
    let mut out = format!("{START_MARKER}\n");
    out += "## Interpreter comparison: pvm-core vs polkavm 0.37\n\n";
    out += "Generated by `compare-interpreters`; do not edit by hand, rerun instead.\n\n";
    out += &format!("- Date: {}\n", env.date);
    out += &format!(
        "- Machine: {} logical CPUs (nproc), {}; load average {} when the run started\n",
        env.nproc, env.cpu_model, env.load_average
    );
    out += &format!("- Toolchain: {}; commit {}\n", env.rustc, env.commit);
    out += &format!("- Reproduce: `{}`\n", env.command);
    out += &format!(
        "- Method: both VMs run the same `pvm-contracts-examples` blobs (first the real-code \
         corpus, `pvm_contracts_examples::corpus::CORPUS`: programs built from third-party \
         crates, Latest64; then our own guests) with identical host \
         functions, and must agree on the result, gas used and host-call output. Exec = \
         `prepare_call` + `run()` loop including host calls on a fresh instance (instantiation \
         untimed), median and min of {} runs, alternating VMs. Compile = module creation from \
         the blob bytes, median of {} runs. Ratios are ours/polkavm on medians (below 1 = \
         pvm-core faster), the `(min)` column on minima. polkavm's interpreter compiles basic blocks lazily during execution, \
         so its compile column is mostly parsing and its exec column includes that \
         compilation; pvm-core compiles everything up front.\n",
        env.runs, env.compile_runs
    );
    out += &format!(
        "- Goals: on the real-code corpus (issue 14) at most {CORPUS_GOAL_GEOMEAN}x polkavm's \
         exec time as the geometric mean and no call above {CORPUS_GOAL_MAX}x; on our \
         guests at most {GOAL_RATIO}x on the compute-heavy ones (geometric mean over the \
         `compute.*` rows).\n"
    );
    for table in tables {
        out += &format!("\n### {}\n\n", table.title());
        out += &markdown_table(table);
    }
    out += &format!("{END_MARKER}\n");
    out
}

/// Replaces the generated section in `existing` (or appends it when there is none).
pub fn splice_section(existing: &str, section: &str) -> Result<String> {
    splice_between(existing, section, START_MARKER, END_MARKER)
}

/// [`splice_section`] for the section between `start_marker` and `end_marker`.
pub fn splice_between(
    existing: &str,
    section: &str,
    start_marker: &str,
    end_marker: &str,
) -> Result<String> {
    match (existing.find(start_marker), existing.find(end_marker)) {
        (Some(start), Some(end)) if start < end => {
            let mut after = end + end_marker.len();
            if existing[after..].starts_with('\n') {
                after += 1;
            }
            Ok(format!(
                "{}{section}{}",
                &existing[..start],
                &existing[after..]
            ))
        }
        (None, None) => {
            let mut out = existing.to_string();
            if !out.is_empty() && !out.ends_with("\n\n") {
                out += if out.ends_with('\n') { "\n" } else { "\n\n" };
            }
            out += section;
            Ok(out)
        }
        _ => bail!("unbalanced {start_marker} / {end_marker} markers; fix the file by hand"),
    }
}

/// Writes `section` into the markdown file at `path`, creating it (with a title) if missing.
pub fn update_markdown_file(path: &Path, section: &str) -> Result<()> {
    update_markdown_between(path, section, START_MARKER, END_MARKER)
}

/// [`update_markdown_file`] for the section between `start_marker` and `end_marker`.
pub fn update_markdown_between(
    path: &Path,
    section: &str,
    start_marker: &str,
    end_marker: &str,
) -> Result<()> {
    let existing = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => "# Benchmarks\n\n".to_string(),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let updated = splice_between(&existing, section, start_marker, end_marker)?;
    std::fs::write(path, updated).with_context(|| format!("writing {}", path.display()))
}

/// The command line that reproduces a run of the benchmark binary `bin` with `raw` arguments
/// (quoted for a POSIX shell where needed).
pub fn reproduce_command(bin: &str, raw: &[String]) -> String {
    let mut command = format!("cargo run --release -p pvm-benchmarking --bin {bin}");
    if !raw.is_empty() {
        command += " --";
        for arg in raw {
            if arg.is_empty() || arg.contains(|c: char| c.is_whitespace() || c == '\'' || c == '"')
            {
                command += &format!(" '{}'", arg.replace('\'', r"'\''"));
            } else {
                command += &format!(" {arg}");
            }
        }
    }
    command
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn splicing_replaces_only_the_section() {
        let section = format!("{START_MARKER}\nnew\n{END_MARKER}\n");
        let file = format!("# B\n\nintro\n\n{START_MARKER}\nold\n{END_MARKER}\n\n## Other\nkept\n");
        let out = splice_section(&file, &section).unwrap();
        assert_eq!(out, format!("# B\n\nintro\n\n{section}\n## Other\nkept\n"));
        // Idempotent.
        assert_eq!(splice_section(&out, &section).unwrap(), out);
    }

    #[test]
    fn splicing_appends_when_missing() {
        let section = format!("{START_MARKER}\nx\n{END_MARKER}\n");
        assert_eq!(
            splice_section("# B\n", &section).unwrap(),
            format!("# B\n\n{section}")
        );
        assert!(splice_section(START_MARKER, &section).is_err());
    }

    #[test]
    fn dates() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(0);
        assert_eq!(utc_date_time(t), "1970-01-01 00:00 UTC");
        // 2024-02-29 12:34:56 UTC
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_709_210_096);
        assert_eq!(utc_date_time(t), "2024-02-29 12:34 UTC");
    }
}
