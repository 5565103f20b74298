//! Exploratory (issue 15's JIT goal): a per-block model of the JIT's time, evaluated on
//! the real-code corpus against the JIT's measured time, memory tiers left out.
//!
//! Per block: the critical path over registers (loads wait for earlier stores in the block
//! that may alias them: same base register value and overlapping offsets, or a different
//! base) and the sum of reciprocal throughputs, from `measured.json`'s chain and throughput
//! cases; the block costs the larger. Columns: *static* adds a mispredict (the random
//! branch case) for every conditional branch and 11 ns for every dynamic jump; *dynamic*
//! adds a mispredict only when a block's successor differs from its successor the last
//! time (a deterministic last-successor predictor); *sum* and *additive* are the static
//! model with the path and the throughputs added, and every instruction at its slower
//! figure. *Miss units / accesses*: what charging memory misses per block (the longest
//! chain of loads, or accesses over the argument's memory-level parallelism, default 4)
//! leaves of one miss per access. *Dynamic + tiers* adds those miss units at v3's surcharge
//! for the memory the call ended with (its tier).
//!
//! `cargo run --release -p pvm-benchmarking --example block_model [-- MLP]` (set `TOP=1`
//! for each call's dearest blocks).
use pvm_contracts_examples::corpus::CORPUS;
use pvm_core::gas::CostTable;
use pvm_core::isa::Flow;
use pvm_core::isa::{decode_code, Args};
use pvm_core::*;
use std::collections::HashMap;

struct Params {
    latency: HashMap<Opcode, f64>,
    throughput: HashMap<Opcode, f64>,
}

fn params() -> Params {
    let raw: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string("benchmarking/gas-model/measured.json").unwrap(),
    )
    .unwrap();
    let mut latency = HashMap::new();
    let mut throughput = HashMap::new();
    for case in raw["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let Some(op) = case["opcode"].as_str().and_then(Opcode::from_name) else {
            continue;
        };
        let Some(ns) = case["ns"]["jit"]["min"].as_f64() else {
            continue;
        };
        if name.ends_with("/chain") {
            latency.insert(op, ns);
        } else if name.ends_with("/throughput") {
            throughput.insert(op, ns);
        } else if name.ends_with("/l1") {
            if name.starts_with("load_indirect") {
                latency.insert(op, ns);
            } else {
                throughput.insert(op, ns);
            }
        } else if name.ends_with("/random") && name.starts_with("branch") {
            latency.insert(op, ns);
        }
    }
    Params {
        latency,
        throughput,
    }
}

fn is_load(op: Opcode) -> bool {
    op.accesses_memory() && op.name().starts_with("load")
}

/// (destination, sources)
fn operands(op: Opcode, args: Args) -> (Option<Reg>, Vec<Reg>) {
    let name = op.name();
    let mut srcs = Vec::new();
    let mut dst = None;
    let store = name.starts_with("store");
    match args {
        Args::RegRegReg(d, a, b) => {
            dst = Some(d);
            srcs.extend([a, b]);
            if name.starts_with("cmov") {
                srcs.push(d);
            }
        }
        Args::RegRegImm(a, b, _) => {
            if store {
                srcs.extend([a, b]);
            } else {
                dst = Some(a);
                srcs.push(b);
                if name.starts_with("cmov") {
                    srcs.push(a);
                }
            }
        }
        Args::RegImm(r, _) => {
            if store || op == Opcode::JumpIndirect {
                srcs.push(r);
            } else {
                dst = Some(r);
            }
        }
        Args::RegReg(d, s) => {
            dst = Some(d);
            srcs.push(s);
        }
        Args::RegImmImm(r, _, _) => srcs.push(r),
        Args::RegImmOffset(r, _, _) => {
            if op == Opcode::LoadImmAndJump {
                dst = Some(r);
            } else {
                srcs.push(r);
            }
        }
        Args::RegRegOffset(a, b, _) => srcs.extend([a, b]),
        Args::RegImm64(d, _) => dst = Some(d),
        Args::RegRegImmImm(d, s, _, _) => {
            dst = Some(d);
            srcs.push(s);
        }
        _ => {}
    }
    (dst, srcs)
}

#[derive(Default, Clone, Copy, Debug)]
struct BlockModel {
    cp: f64,
    work: f64,
    penalty: f64,
    load_depth: u32,
    accesses: u32,
    additive_latency: f64,
}

/// Where an access goes: a base register's value (its definition count in the block) plus
/// an offset, or an absolute address; `size` bytes.
#[derive(Clone, Copy)]
struct Access {
    base: Option<(usize, u32)>,
    offset: u32,
    size: u32,
}

impl Access {
    fn may_alias(&self, other: &Access) -> bool {
        if self.base != other.base {
            return true;
        }
        let (a, b) = (u64::from(self.offset), u64::from(other.offset));
        a < b + u64::from(other.size) && b < a + u64::from(self.size)
    }
}

fn access_of(op: Opcode, args: Args, version: &[u32; 14]) -> Option<Access> {
    if !op.accesses_memory() {
        return None;
    }
    let name = op.name();
    let size = if name.ends_with("8") {
        1
    } else if name.ends_with("16") {
        2
    } else if name.ends_with("32") {
        4
    } else {
        8
    };
    Some(match args {
        Args::RegRegImm(_, b, imm) => Access {
            base: Some((b.index(), version[b.index()])),
            offset: imm,
            size,
        },
        Args::RegImmImm(b, imm, _) => Access {
            base: Some((b.index(), version[b.index()])),
            offset: imm,
            size,
        },
        Args::RegImm(_, imm) | Args::ImmImm(imm, _) => Access {
            base: None,
            offset: imm,
            size,
        },
        _ => Access {
            base: Some((99, 0)),
            offset: 0,
            size: 8,
        },
    })
}

fn model_block(params: &Params, instrs: &[pvm_core::isa::DecodedInstruction]) -> BlockModel {
    let mut ready = [0f64; 14];
    let mut depth = [0u32; 14];
    let mut version = [0u32; 14];
    let mut stores: Vec<(Access, f64, u32)> = Vec::new();
    let mut m = BlockModel::default();
    for d in instrs {
        let Some(i) = d.instruction else {
            m.penalty += 10.0;
            continue;
        };
        let op = i.opcode;
        let (dst, srcs) = operands(op, i.args);
        let mut start = srcs.iter().map(|r| ready[r.index()]).fold(0.0, f64::max);
        let mut dep = srcs.iter().map(|r| depth[r.index()]).max().unwrap_or(0);
        let load = is_load(op);
        let access = access_of(op, i.args, &version);
        if load {
            let a = access.unwrap();
            for (s, t, sd) in &stores {
                if s.may_alias(&a) {
                    start = start.max(*t);
                    dep = dep.max(*sd);
                }
            }
        }
        let lat = match op.flow() {
            Flow::Branch if op != Opcode::Fallthrough => 0.3,
            _ => *params.latency.get(&op).unwrap_or(&0.3),
        };
        let lat = if load { lat.max(1.49) } else { lat };
        let tput = *params.throughput.get(&op).unwrap_or(if load {
            &0.154
        } else if op.accesses_memory() {
            &0.336
        } else {
            &0.3
        });
        let end = start + lat;
        if let Some(r) = dst {
            ready[r.index()] = end;
            depth[r.index()] = dep + u32::from(load);
            version[r.index()] += 1;
        }
        if op.accesses_memory() && !load {
            stores.push((access.unwrap(), start + 1.5, dep));
            m.accesses += 1;
        }
        if load {
            m.accesses += 1;
            m.load_depth = m.load_depth.max(dep + 1);
        }
        m.cp = m.cp.max(end);
        m.work += tput;
        m.additive_latency += lat.max(tput);
        match op.flow() {
            Flow::Branch if op != Opcode::Fallthrough => {
                m.penalty += params.latency.get(&op).copied().unwrap_or(4.5)
            }
            _ if op == Opcode::JumpIndirect || op == Opcode::LoadImmAndJumpIndirect => {
                m.penalty += 11.0
            }
            _ => {}
        }
    }
    m
}

fn main() {
    let params = params();
    let jit = Engine::new(&Config {
        backend: BackendKind::Jit,
        sandbox: SandboxConfig {
            kind: SandboxKind::Generic,
            ..Default::default()
        },
        ..Config::default()
    })
    .unwrap();
    let interp = Engine::new(&Config::default()).unwrap();
    let mlp: u32 = std::env::args().nth(1).map_or(4, |s| s.parse().unwrap());
    let mut ratios = Vec::new();
    let mut static_ratios = Vec::new();
    let mut tier_ratios = Vec::new();
    for program in CORPUS {
        let blob = ProgramBlob::parse(program.latest64.bytes).unwrap();
        let stream = decode_code(blob.isa, &blob.code.code, &blob.code.bitmask);
        let mut blocks: HashMap<u32, (usize, usize)> = HashMap::new();
        let mut start = 0;
        for i in 0..stream.instructions.len() {
            if i > 0 && stream.block_starts[i] {
                blocks.insert(stream.instructions[start].pc, (start, i));
                start = i;
            }
        }
        blocks.insert(
            stream.instructions[start].pc,
            (start, stream.instructions.len()),
        );
        for call in program.exec {
            // Block counts by step tracing.
            let config = ModuleConfig {
                step_tracing: true,
                ..ModuleConfig::default()
            };
            let module = Module::new(&interp, &config, program.latest64.bytes).unwrap();
            let mut inst = module.instantiate().unwrap();
            inst.prepare_call_export(call.export, &[u64::from(call.arg)])
                .unwrap();
            inst.set_gas(1 << 60);
            let mut counts: HashMap<u32, u64> = HashMap::new();
            // Per block: the successor last time (a last-target predictor per block end).
            let mut last_next: HashMap<u32, u32> = HashMap::new();
            let mut changes: HashMap<u32, u64> = HashMap::new();
            let mut prev_block: Option<u32> = None;
            loop {
                match inst.run().unwrap() {
                    Interrupt::Step => {
                        let pc = inst.program_counter().unwrap();
                        if blocks.contains_key(&pc) {
                            *counts.entry(pc).or_default() += 1;
                            if let Some(p) = prev_block {
                                if let Some(old) = last_next.insert(p, pc) {
                                    if old != pc {
                                        *changes.entry(p).or_default() += 1;
                                    }
                                }
                            }
                            prev_block = Some(pc);
                        }
                    }
                    Interrupt::Finished => break,
                    other => panic!("{other:?}"),
                }
            }
            // The memory the call ended with sets its tier (v3's surcharge per miss, which
            // carries v3's memory margin).
            let jit_table = CostTable::jit();
            let ps = jit_table.ref_time_ps_per_gas.expect("measured").jit as f64;
            let miss_ns = f64::from(jit_table.access_cost(inst.accessible_bytes())) * ps / 1000.0;
            let mut max_model = 0.0;
            let mut dyn_model = 0.0;
            let mut sum_model = 0.0;
            let mut additive = 0.0;
            let mut misses_depth = 0u64;
            let mut misses_access = 0u64;
            let mut branch_pen = 0.0;
            let (mut scp, mut swork, mut sinstr) = (0.0, 0.0, 0.0);
            let mut top: Vec<(f64, u32, usize, f64, f64, f64)> = Vec::new();
            for (pc, n) in &counts {
                let (a, b) = blocks[pc];
                let m = model_block(&params, &stream.instructions[a..b]);
                let n = *n as f64;
                max_model += n * (m.cp.max(m.work) + m.penalty);
                let ch = *changes.get(pc).unwrap_or(&0) as f64;
                dyn_model += n * m.cp.max(m.work) + ch * 4.5;
                sum_model += n * (m.cp + m.work + m.penalty);
                additive += n * (m.additive_latency + m.penalty);
                branch_pen += n * m.penalty;
                scp += n * m.cp;
                swork += n * m.work;
                sinstr += n * (b - a) as f64;
                top.push((
                    n * (m.cp.max(m.work) + m.penalty),
                    *pc,
                    b - a,
                    m.cp,
                    m.work,
                    m.penalty,
                ));
                misses_depth += *counts.get(pc).unwrap()
                    * u64::from(m.load_depth.max(m.accesses.div_ceil(mlp)));
                misses_access += *counts.get(pc).unwrap() * u64::from(m.accesses);
            }
            // Measured: JIT, naive table, min of 5.
            let module = Module::new(
                &jit,
                &ModuleConfig {
                    cost_table: CostTable::naive(),
                    ..ModuleConfig::default()
                },
                program.latest64.bytes,
            )
            .unwrap();
            let mut best = f64::MAX;
            for _ in 0..5 {
                let mut inst = module.instantiate().unwrap();
                inst.prepare_call_export(call.export, &[u64::from(call.arg)])
                    .unwrap();
                inst.set_gas(1 << 60);
                let t = pvm_benchmarking::gas_model::thread_cpu_time();
                assert_eq!(inst.run().unwrap(), Interrupt::Finished);
                let e = pvm_benchmarking::gas_model::thread_cpu_time() - t;
                best = best.min(e.as_secs_f64() * 1e9);
            }
            let r = dyn_model / best;
            static_ratios.push(max_model / best);
            let with_tiers = (dyn_model + misses_depth as f64 * miss_ns) / best;
            tier_ratios.push(with_tiers);
            top.sort_by(|a, b| b.0.total_cmp(&a.0));
            if std::env::var("TOP").is_ok() {
                println!(
                    "  cp {:.2} work {:.2} instrs {sinstr:.0} ns/instr {:.3}",
                    scp / best,
                    swork / best,
                    best / sinstr
                );
                for t in &top[..8] {
                    println!(
                        "  share {:.2} pc {} len {} cp {:.2} work {:.2} pen {:.2}",
                        t.0 / best,
                        t.1,
                        t.2,
                        t.3,
                        t.4,
                        t.5
                    );
                }
            }
            ratios.push(r);
            println!(
                "{:<8} {:<14} measured {:>8.0} us  static {:.2}  dynamic {:.2}  sum {:.2}  additive {:.2}  mispredicts {:.2}  miss units / accesses {:.2}  dynamic + tiers {:.2} ({} KiB, {:.1} ns per miss)",
                program.name,
                call.export,
                best / 1e3,
                max_model / best,
                r,
                sum_model / best,
                additive / best,
                branch_pen / best,
                misses_depth as f64 / misses_access as f64,
                with_tiers,
                inst.accessible_bytes() >> 10,
                miss_ns,
            );
        }
    }
    ratios.sort_by(f64::total_cmp);
    static_ratios.sort_by(f64::total_cmp);
    tier_ratios.sort_by(f64::total_cmp);
    println!(
        "median model / measured: static {:.2}, dynamic {:.2}, dynamic with v3's tier per miss unit {:.2}",
        static_ratios[static_ratios.len() / 2],
        ratios[ratios.len() / 2],
        tier_ratios[tier_ratios.len() / 2]
    );
}
