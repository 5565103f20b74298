//! End-to-end tests of the `pvm` binary: each runs the built executable and checks what it
//! prints and how it exits.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const PVM: &str = env!("CARGO_BIN_EXE_pvm");
const BLOBS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../contracts-examples/blobs");
const VECTORS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/conformance/jam-pvm-v0.4/programs"
);

/// Runs `pvm` with `args`.
fn pvm<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Output {
    Command::new(PVM)
        .args(args)
        .output()
        .expect("the pvm binary runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("stdout is UTF-8")
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).expect("stderr is UTF-8")
}

fn blob(name: &str) -> String {
    format!("{BLOBS}/{name}")
}

/// A fresh scratch directory for one test.
fn scratch(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("pvm-cli")
        .join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

/// Asserts success and returns stdout.
fn success(output: &Output) -> String {
    assert!(
        output.status.success(),
        "pvm failed with {}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        stdout(output),
        stderr(output)
    );
    stdout(output)
}

#[test]
fn conformance_vectors_all_pass() {
    let output = pvm(&["conformance", VECTORS]);
    let out = success(&output);
    assert_eq!(
        out.lines().last(),
        Some("307 passed, 0 failed"),
        "stdout:\n{out}"
    );
}

#[test]
fn conformance_vectors_all_pass_on_the_jit_and_in_crosscheck_mode() {
    for backend in ["jit", "crosscheck"] {
        let output = pvm(&["conformance", "--backend", backend, VECTORS]);
        let out = success(&output);
        assert_eq!(
            out.lines().last(),
            Some("307 passed, 0 failed"),
            "{backend} stdout:\n{out}"
        );
    }
}

#[test]
fn run_and_bench_take_the_jit_backend() {
    let output = pvm(&[
        "bench",
        &blob("compute.latest64.polkavm"),
        "--export",
        "sieve",
        "100",
        "--runs",
        "3",
        "--backend",
        "jit",
    ]);
    let out = success(&output);
    let json: serde_json::Value = serde_json::from_str(&out).expect("bench prints JSON");
    let expected = if pvm_core::BackendKind::jit_supported() {
        "jit"
    } else {
        "interpreter"
    };
    assert_eq!(json["backend"], expected);
    assert_eq!(json["result"], 25);
    let output = pvm(&[
        "run",
        &blob("compute.latest64.polkavm"),
        "--export",
        "sieve",
        "100",
        "--backend",
        "jit",
    ]);
    success(&output);
}

#[test]
fn conformance_reports_a_failing_vector_with_its_diff() {
    let dir = scratch("conformance_failure");
    let mut files: Vec<PathBuf> = std::fs::read_dir(VECTORS)
        .expect("vectors dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    std::fs::copy(&files[0], dir.join("good.json")).expect("copy vector");
    let mut vector: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&files[0]).expect("read vector"))
            .expect("vector JSON");
    let gas = vector["expected-gas"].as_u64().expect("expected-gas");
    vector["expected-gas"] = (gas + 1).into();
    std::fs::write(dir.join("broken.json"), vector.to_string()).expect("write vector");

    let output = pvm(&[Path::new("conformance"), &dir]);
    assert_eq!(
        output.status.code(),
        Some(1),
        "stderr:\n{}",
        stderr(&output)
    );
    let out = stdout(&output);
    assert!(out.contains("FAIL broken.json"), "stdout:\n{out}");
    assert!(
        out.contains(&format!("gas: expected {}, got {gas}", gas + 1)),
        "stdout:\n{out}"
    );
    assert_eq!(out.lines().last(), Some("1 passed, 1 failed"));
}

#[test]
fn run_sieve_finishes_with_25_primes_below_100() {
    let out = success(&pvm(&[
        "run",
        &blob("compute.latest64.polkavm"),
        "--export",
        "sieve",
        "100",
    ]));
    assert!(out.contains("outcome: Finished"), "{out}");
    assert!(out.contains("a0: 0x19 (25)"), "{out}");
    assert!(out.contains("gas used: "), "{out}");
    assert_eq!(
        out.lines()
            .filter(|l| l.starts_with("  ") && l.contains(" = 0x"))
            .count(),
        13,
        "{out}"
    );
}

#[test]
fn run_hostcalls_uses_the_cli_host_functions() {
    let out = success(&pvm(&[
        "run",
        &blob("hostcalls.latest64.polkavm"),
        "--export",
        "run",
        "16",
    ]));
    assert!(out.contains("outcome: Finished"), "{out}");
    assert!(out.contains("a0: 0x9e870d75182da450 "), "{out}");
    assert!(out.contains("host_emit: 1 calls, 8 bytes"), "{out}");
}

#[test]
fn run_hostcalls_in_another_isa_with_a_hex_argument() {
    let out = success(&pvm(&[
        "run",
        &blob("hostcalls.jam_v1.polkavm"),
        "--export",
        "run",
        "0x10",
    ]));
    assert!(out.contains("a0: 0x9e870d75182da450 "), "{out}");
}

#[test]
fn trace_prints_instructions_register_changes_and_host_calls() {
    let output = pvm(&[
        "run",
        &blob("hostcalls.latest64.polkavm"),
        "--export",
        "run",
        "16",
        "--trace",
    ]);
    let out = success(&output);
    assert!(out.contains("a0: 0x9e870d75182da450 "), "{out}");
    let trace = stderr(&output);
    assert!(trace.contains(": ecalli 0"), "no ecalli in the trace");
    assert!(
        trace.contains("host host_add("),
        "no host call in the trace"
    );
    assert!(
        trace.contains("host host_emit(") && trace.contains("emitted 8 bytes: 50a42d18750d879e")
    );
    assert!(
        trace.contains("          a0 = 0x"),
        "no register change in the trace"
    );
    assert!(trace.contains("jump_indirect ra, 0"));
    assert!(trace
        .trim_end()
        .ends_with("trace: Finished after 1429 instructions"));
}

#[test]
fn unknown_export_fails_clearly() {
    let output = pvm(&["run", &blob("compute.latest64.polkavm"), "--export", "nope"]);
    assert!(!output.status.success());
    let err = stderr(&output);
    assert!(err.contains("no export named \"nope\""), "{err}");
    assert!(err.contains("fib, hash, sort, sieve"), "{err}");
}

/// `pvm bench` of `sieve(100)` in the compute guest with `extra` arguments: its JSON line.
fn bench_sieve(extra: &[&str]) -> serde_json::Value {
    let blob = blob("compute.latest64.polkavm");
    let mut args = vec!["bench", &blob, "--export", "sieve", "100"];
    args.extend_from_slice(extra);
    let out = success(&pvm(&args));
    assert_eq!(out.lines().count(), 1, "{out}");
    serde_json::from_str(&out).expect("bench prints JSON")
}

#[test]
fn bench_prints_one_json_line() {
    let json = bench_sieve(&["--runs", "3"]);
    assert_eq!(json["backend"], "interpreter");
    assert_eq!(json["result"], 25);
    assert!(json["gas_used"].as_u64().expect("gas_used") > 0);
    assert!(json["compile_ns"].as_u64().expect("compile_ns") > 0);
    assert!(json["instantiate_ns"].as_u64().expect("instantiate_ns") > 0);
    assert!(json["exec_ns_median"].as_u64().expect("exec_ns_median") > 0);
    // The pallet's default table unless another is named.
    assert_eq!(json["cost_table"], "interpreter");
    assert_eq!(
        json["cost_table_version"],
        pallet_pvm::gas::DEFAULT_COST_TABLE_VERSION
    );
    let naive = bench_sieve(&["--runs", "1", "--cost-table", "naive"]);
    assert_eq!(naive["cost_table"], "naive");
    assert_eq!(naive["cost_table_version"], 1);
    assert_eq!(naive["result"], 25);
    // A name is the newest table of that shape; a number names any version.
    for (given, name, version) in [("jit", "jit", 8), ("5", "jit", 5), ("2", "interpreter", 2)] {
        let json = bench_sieve(&["--runs", "1", "--cost-table", given]);
        assert_eq!(
            (&json["cost_table"], &json["cost_table_version"]),
            (&name.into(), &version.into()),
            "{given}"
        );
    }
}

#[test]
fn costs_prints_the_default_table_as_json() {
    let out = success(&pvm(&["costs", "--json"]));
    let json: serde_json::Value = serde_json::from_str(&out).expect("costs prints JSON");
    let table = pvm_core::gas::CostTable::by_version(pallet_pvm::gas::DEFAULT_COST_TABLE_VERSION)
        .expect("the default table exists");
    assert_eq!(json["name"], table.name);
    assert_eq!(json["version"], table.version);
    assert_eq!(json["memset_pays_access"], table.memset_pays_access);
    for key in ["interpreter", "jit", "in_runtime"] {
        assert!(
            json["ref_time_ps_per_gas"][key].as_u64().expect(key) > 0,
            "{key}"
        );
    }
    for &opcode in pvm_core::Opcode::ALL {
        assert_eq!(
            json["opcodes"][opcode.name()].as_u64(),
            Some(u64::from(table.cost(opcode))),
            "{}",
            opcode.name()
        );
    }
}

#[test]
fn disasm_names_the_exports() {
    let out = success(&pvm(&["disasm", &blob("compute.latest64.polkavm")]));
    assert!(out.starts_with(".isa latest64\n"), "{out}");
    for export in ["fib", "hash", "sort", "sieve"] {
        assert!(out.contains(&format!("pub @{export}:")), "missing {export}");
    }
}

const ADD_PROGRAM: &str = "\
; a0 + a1 computed twice: by the guest and by the host
.import \"host_add\"
.import \"host_nope\"
pub @add:
    add_64 a2, a0, a1
    ecalli 0
    add_64 a0, a0, a2
    jump_indirect ra, 0
pub @missing_import:
    ecalli 1
    jump_indirect ra, 0
pub @boom:
    trap
";

#[test]
fn asm_output_runs() {
    let dir = scratch("asm_output_runs");
    let (source, program) = (dir.join("add.s"), dir.join("add.polkavm"));
    std::fs::write(&source, ADD_PROGRAM).expect("write source");
    let out = success(&pvm(&[
        Path::new("asm"),
        &source,
        Path::new("-o"),
        &program,
    ]));
    let size = std::fs::metadata(&program).expect("output exists").len();
    assert!(out.contains(&format!("wrote {size} bytes")), "{out}");
    assert!(std::fs::read(&program)
        .expect("read output")
        .starts_with(b"PVM\0"));

    let run = |args: &[&str]| {
        let mut all = vec!["run", program.to_str().expect("utf-8 path")];
        all.extend_from_slice(args);
        pvm(&all)
    };
    let out = success(&run(&["--export", "add", "2", "40"]));
    assert!(
        out.contains("outcome: Finished") && out.contains("a0: 0x54 (84)"),
        "{out}"
    );

    // A trap is an outcome, not a CLI error.
    let out = success(&run(&["--export", "boom"]));
    assert!(out.contains("outcome: Trap"), "{out}");

    let output = run(&["--export", "missing_import"]);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("import host_nope (ecalli 1) is not provided by the CLI host"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn asm_graypaper_writes_a_raw_blob_that_runs_by_pc() {
    let dir = scratch("asm_graypaper");
    let (source, program) = (dir.join("gp.s"), dir.join("gp.bin"));
    let text = ".isa graypaper\npub @main:\n    load_imm a0, 7\n    add_imm_64 a0, a0, 35\n    jump_indirect ra, 0\n";
    std::fs::write(&source, text).expect("write source");
    success(&pvm(&[
        Path::new("asm"),
        &source,
        Path::new("-o"),
        &program,
    ]));
    assert!(!std::fs::read(&program)
        .expect("read output")
        .starts_with(b"PVM\0"));

    let out = success(&pvm(&[
        Path::new("run"),
        &program,
        Path::new("--pc"),
        Path::new("0"),
    ]));
    assert!(
        out.contains("outcome: Finished") && out.contains("a0: 0x2a (42)"),
        "{out}"
    );
    let output = pvm(&[
        Path::new("run"),
        &program,
        Path::new("--export"),
        Path::new("main"),
    ]);
    assert!(!output.status.success());
    assert!(stderr(&output).contains("--pc"), "{}", stderr(&output));
}

#[test]
fn asm_errors_name_the_line() {
    let dir = scratch("asm_errors");
    let source = dir.join("bad.s");
    std::fs::write(&source, "pub @main:\n    add_64 a0, a0\n").expect("write source");
    let output = pvm(&[
        Path::new("asm"),
        &source,
        Path::new("-o"),
        &dir.join("bad.bin"),
    ]);
    assert!(!output.status.success());
    assert!(stderr(&output).contains("bad.s:2: "), "{}", stderr(&output));
}
