//! Compiles one generated program with the JIT, for profiling compile time:
//! `cargo run --release -p pvm-benchmarking --example compile_generated -- [bytes|blob path] [runs] [ours|interpreter|polkavm|stages|decoder]`
//! (`ours` is the JIT, `interpreter` our interpreter's up-front compilation),
//! e.g. under `valgrind --tool=callgrind --toggle-collect='*Module::new*'` (ours) or
//! `--toggle-collect='*polkavm*Module*new*'` (polkavm's recompiler, for the same count).

use pvm_benchmarking::compare::scaling::generated_program;
use pvm_benchmarking::compare::vm::{Ours, Polkavm, Vm};
use std::time::{Duration, Instant};

fn time_compiles<V: Vm>(vm: &V, blob: &[u8], runs: usize) -> anyhow::Result<Vec<Duration>> {
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        let module = vm.compile(blob)?;
        times.push(start.elapsed());
        drop(module);
    }
    times.sort();
    Ok(times)
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let runs: usize = args.get(2).map_or(Ok(1), |s| s.parse())?;
    let which = args.get(3).map_or("ours", String::as_str);
    // A size to generate, or the path of a blob to compile instead.
    let (blob, size) = match args.get(1) {
        Some(path) if std::path::Path::new(path).is_file() => {
            let blob = std::fs::read(path)?;
            let size = pvm_core::ProgramBlob::parse(&blob)?.code.code.len();
            (blob, size)
        }
        size => generated_program(size.map_or(Ok(1 << 20), |s| s.parse())?)?,
    };
    let times = match which {
        "ours" => time_compiles(
            &Ours::with_backend(true, pvm_core::BackendKind::Jit)?,
            &blob,
            runs,
        )?,
        "interpreter" => time_compiles(
            &Ours::with_backend(true, pvm_core::BackendKind::Interpreter)?.compiling_up_front(),
            &blob,
            runs,
        )?,
        "polkavm" => time_compiles(
            &Polkavm::with_backend(true, polkavm::BackendKind::Compiler)?,
            &blob,
            runs,
        )?,
        "stages" => return stages(&blob, runs),
        "decoder" => return decoder_only(&blob, runs),
        other => {
            anyhow::bail!("unknown mode {other:?}: ours, interpreter, polkavm, stages or decoder")
        }
    };
    let median = times[times.len() / 2];
    println!(
        "{which}: {size} code bytes: median {median:?} of {runs}, min {:?}, {:.2} ns/byte (median)",
        times[0],
        median.as_nanos() as f64 / size as f64
    );
    Ok(())
}

/// Times the stages of our JIT module creation separately (medians over `runs`).
fn stages(blob: &[u8], runs: usize) -> anyhow::Result<()> {
    use pvm_core::sandbox::generic::JitModule;
    let costs = pvm_core::gas::CostTable::naive();
    let mut rows: Vec<[Duration; 3]> = Vec::new();
    let mut faults = 0;
    let mut machine_code_bytes = 0;
    for _ in 0..runs {
        let f0 = minor_faults();
        let t0 = Instant::now();
        let parsed = pvm_core::ProgramBlob::parse(blob)?;
        let t1 = Instant::now();
        let options = pvm_core::jit::CompileOptions {
            gas_metering: true,
            costs: &costs,
            isa: parsed.isa,
            segment_memory: std::env::var_os("PVM_FORCE_SEGMENT").is_some()
                || pvm_core::sandbox::generic::segment_base_usable(),
        };
        let (t2, module) = pvm_core::jit::with_scratch(|scratch| {
            let program = pvm_core::jit::compile_in(scratch, &parsed.code, &options)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let t2 = Instant::now();
            machine_code_bytes = scratch.code().len();
            let module = JitModule::new(program, scratch.code())?;
            anyhow::Ok((t2, module))
        })?;
        let t3 = Instant::now();
        faults += minor_faults() - f0;
        drop(module);
        rows.push([t1 - t0, t2 - t1, t3 - t2]);
    }
    println!(
        "{} minor page faults per run; {machine_code_bytes} bytes of machine code",
        faults / runs as u64
    );
    for (i, name) in ["parse", "compile", "map"].iter().enumerate() {
        let mut column: Vec<Duration> = rows.iter().map(|r| r[i]).collect();
        column.sort();
        println!("{name}: median {:?}", column[column.len() / 2]);
    }
    Ok(())
}

fn minor_faults() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after_name = stat.rsplit(')').next().unwrap_or("");
    after_name
        .split_whitespace()
        .nth(7)
        .and_then(|f| f.parse().ok())
        .unwrap_or(0)
}

/// Times the streaming decoder alone (what the JIT's pass spends decoding).
fn decoder_only(blob: &[u8], runs: usize) -> anyhow::Result<()> {
    let parsed = pvm_core::ProgramBlob::parse(blob)?;
    let mut times = Vec::new();
    let mut checksum = 0u64;
    for _ in 0..runs {
        let start = Instant::now();
        let mut decoder =
            pvm_core::isa::Decoder::new(parsed.isa, &parsed.code.code, &parsed.code.bitmask);
        while let Some(decoded) = decoder.next() {
            checksum = checksum.wrapping_add(u64::from(decoded.length));
            if let Some(instruction) = decoded.instruction {
                checksum = checksum.wrapping_add(instruction.opcode as u64);
                if let pvm_core::isa::Args::RegRegImm(_, _, x) = instruction.args {
                    checksum = checksum.wrapping_add(u64::from(x));
                }
            }
        }
        times.push(start.elapsed());
    }
    times.sort();
    println!(
        "decoder: median {:?} (checksum {checksum})",
        times[times.len() / 2]
    );
    Ok(())
}
