//! The measured programs: loops of one "gadget" (an instruction, or a short sequence around
//! one) repeated, with the setup each needs. Every program is a contract too (exports
//! `deploy` and `call`, no imports), so the same source runs natively and inside the
//! runtime.

use pvm_core::isa::{Flow, Format};
use pvm_core::Opcode;

/// Copies of the gadget per loop iteration (one basic block unless the gadget branches).
pub const UNROLL: u32 = 32;

/// A registers-only LCG step on `a4` (`a5` holds the multiplier): the random source of
/// the branch, store and jump gadgets.
const LCG: &str = "mul_64 a4, a4, a5\nadd_imm_64 a4, a4, 1\n";
/// The LCG's instructions, which a gadget using it does not pay for.
pub const LCG_OPS: [Opcode; 2] = [Opcode::Mul64, Opcode::AddImm64];

/// One measured program.
#[derive(Clone, Debug)]
pub struct Gadget {
    /// A name unique among the cases (`add_64/chain`, `load/chase/16MiB`, ...).
    pub name: String,
    /// What it measures: the opcode the time is attributed to, or `None` for the other
    /// dimensions (pages, `memset` bytes).
    pub opcode: Option<Opcode>,
    /// Setup before the loop (may use every register but `s1`).
    pub setup: String,
    /// One copy of the loop body.
    pub body: String,
    /// Instructions of the body (besides the measured one) whose time is subtracted:
    /// their own measured time, as the chain or throughput case of each showed.
    pub others: Vec<Opcode>,
    /// How many measured units one body copy holds (instructions, pages, bytes).
    pub units: u64,
    /// Bytes of memory the program makes accessible on top of the image (its `sbrk`).
    pub heap: u64,
    /// Copies of the body per iteration.
    pub unroll: u32,
    /// The most iterations the program can run (its memory runs out after), if bounded.
    pub max_iterations: Option<u64>,
}

/// The full program for `iterations` iterations: setup, then the loop. `deploy` and `call`
/// both run it, so it is a contract as it is (without `marker`). `base` is the address of
/// its 4 KiB of read-write data (`{base}` in setup and body). With `marker`, an `ecalli 0`
/// between the setup and the loop tells a native runner where to start its clock.
pub fn source(gadget: &Gadget, iterations: u64, base: u32) -> String {
    source_with(gadget, iterations, base, false)
}

/// [`source`], with or without the marker.
pub fn source_with(gadget: &Gadget, iterations: u64, base: u32, marker: bool) -> String {
    let mut out = String::from(".isa latest64\n.stack_size 4096\n.rw_data_size 4096\n");
    if marker {
        out.push_str(".import \"marker\"\n");
    }
    out.push_str("pub @deploy:\npub @call:\n");
    out.push_str("load_imm64 a5, 6364136223846793005\nload_imm a4, 12345\n");
    if gadget.heap > 0 {
        // The heap region: `sbrk` returns the new top; its base goes to `s0`.
        out.push_str(&format!(
            "load_imm a1, {}\nsbrk s0, a1\nsub_64 s0, s0, a1\n",
            gadget.heap
        ));
    }
    out.push_str(&gadget.setup.replace("{base}", &base.to_string()));
    if marker {
        out.push_str("ecalli 0\n");
    }
    out.push_str(&format!(
        "load_imm64 s1, {iterations}\nfallthrough\n@loop:\n"
    ));
    for copy in 0..gadget.unroll {
        out.push_str(
            &gadget
                .body
                .replace("{n}", &copy.to_string())
                .replace("{base}", &base.to_string()),
        );
    }
    out.push_str("add_imm_64 s1, s1, -1\nbranch_not_eq_imm s1, 0, @loop\n");
    out.push_str("jump_indirect ra, 0\n");
    out
}

fn simple(name: String, opcode: Opcode, setup: &str, body: String, others: Vec<Opcode>) -> Gadget {
    Gadget {
        name,
        opcode: Some(opcode),
        setup: setup.to_string(),
        body,
        others,
        units: 1,
        heap: 0,
        unroll: UNROLL,
        max_iterations: None,
    }
}

/// Operand setup for arithmetic: a0 and a2 big (so division has a long quotient), a1 and
/// a3 small odd divisors and shift amounts.
const ARITH_SETUP: &str =
    "load_imm64 a0, 0x7fffffffffffffff\nload_imm a1, 3\nload_imm64 a2, 0x7ffffffffffffff1\nload_imm a3, 7\nload_imm64 t0, 0x7fffffffffffffff\nload_imm64 t1, 0x7fffffffffffffff\nload_imm64 t2, 0x7fffffffffffffff\n";

fn is_division(opcode: Opcode) -> bool {
    let name = opcode.name();
    name.starts_with("div") || name.starts_with("rem")
}

/// The chain and throughput programs of a plain register instruction.
fn arithmetic(opcode: Opcode) -> Vec<Gadget> {
    let name = opcode.name();
    let (chain, throughput) = match opcode.format() {
        Format::RegRegReg if is_division(opcode) => (
            // The quotient feeds the next division through `or` (the dividend stays
            // all-ones below the sign bit: the slowest operands).
            format!("{name} t0, a0, a1\nor a0, a0, t0\n"),
            format!("{name} t0, a0, a1\n{name} t1, a2, a3\n{name} t2, a0, a3\n"),
        ),
        Format::RegRegReg => (
            format!("{name} a0, a0, a1\n"),
            format!("{name} t0, a0, a1\n{name} t1, a2, a3\n{name} t2, a0, a3\n"),
        ),
        Format::RegRegImm => (
            format!("{name} a0, a0, 7\n"),
            format!("{name} t0, a0, 7\n{name} t1, a2, 3\n{name} t2, a3, 5\n"),
        ),
        Format::RegReg => (
            format!("{name} a0, a0\n"),
            format!("{name} t0, a0\n{name} t1, a2\n{name} t2, a3\n"),
        ),
        Format::RegImm => (
            format!("{name} a0, 0x12345\n"),
            format!("{name} t0, 0x1234\n{name} t1, 0x4321\n{name} t2, 0x2222\n"),
        ),
        Format::RegImm64 => (
            format!("{name} a0, 0x123456789abcdef\n"),
            format!("{name} t0, 0x123456789abcdef\n{name} t1, 0x23456789abcdef1\n"),
        ),
        Format::RegRegImmImm => return Vec::new(),
        _ => return Vec::new(),
    };
    let throughput_count = throughput.lines().count() as u64;
    let mut chain_gadget = simple(format!("{name}/chain"), opcode, ARITH_SETUP, chain, vec![]);
    if is_division(opcode) {
        chain_gadget.others = vec![Opcode::Or];
    }
    let mut tp = simple(
        format!("{name}/throughput"),
        opcode,
        ARITH_SETUP,
        throughput,
        vec![],
    );
    tp.units = throughput_count;
    vec![chain_gadget, tp]
}

/// Width in bytes and the register form of a load or store mnemonic.
fn loads_and_stores(opcode: Opcode) -> Vec<Gadget> {
    let name = opcode.name();
    // Every access hits the same zeroed line of the read-write data: an L1 hit, the
    // cheapest access (the tiers price the misses). Loads through a register chain on the
    // loaded value (0).
    let setup = "load_imm s0, {base}\nload_imm a0, 0\n";
    let body = match opcode.format() {
        // load_indirect d, base, offset: the loaded value (0) plus the base is the next
        // address, so the loads form a latency chain.
        Format::RegRegImm if name.starts_with("load_indirect") => {
            format!("{name} a0, a0, {{base}}\n")
        }
        Format::RegRegImm if name.starts_with("store_indirect") => {
            format!("{name} a1, s0, 8\n")
        }
        Format::RegImmImm => format!("{name} s0, 16, 5\n"),
        Format::RegImm if name.starts_with("load") => format!("{name} a0, {{base}}\n"),
        Format::RegImm => format!("{name} a1, {{base}}\n"),
        Format::ImmImm => format!("{name} {{base}}, 5\n"),
        _ => return Vec::new(),
    };
    let mut out = vec![simple(format!("{name}/l1"), opcode, setup, body, vec![])];
    if name.starts_with("load_indirect") {
        // The same loads from one unchanging base: independent, so their rate, not their
        // latency (what real code's loads from a stack or array pointer cost).
        out.push(simple(
            format!("{name}/l1-independent"),
            opcode,
            setup,
            format!("{name} a1, s0, 8\n"),
            vec![],
        ));
    }
    out
}

/// A branch whose direction is random (the LCG's top bit), or always not taken.
fn branches(opcode: Opcode) -> Vec<Gadget> {
    let name = opcode.name();
    // Comparands that split {0, 1} in two: 0 for the `<=`/`>` immediate forms, 1 otherwise.
    let imm = if name.contains("less_or_equal")
        || name.contains("greater_signed_imm")
        || name.contains("greater_unsigned_imm")
    {
        0
    } else {
        1
    };
    let condition = match opcode.format() {
        Format::RegImmOffset => format!("{name} a2, {imm}, @t{{n}}\n"),
        Format::RegRegOffset => format!("{name} a2, a3, @t{{n}}\n"),
        _ => return Vec::new(),
    };
    let random = format!(
        "{LCG}shift_logical_right_imm_64 a2, a4, 63\n{condition}add_imm_64 a0, a0, 1\njump @j{{n}}\n@t{{n}}:\nadd_imm_64 a1, a1, 1\nfallthrough\n@j{{n}}:\n"
    );
    let mut others = LCG_OPS.to_vec();
    others.extend([
        Opcode::ShiftLogicalRightImm64,
        Opcode::AddImm64,
        Opcode::Jump,
    ]);
    let setup = "load_imm a3, 1\n";
    vec![simple(
        format!("{name}/random"),
        opcode,
        setup,
        random,
        others,
    )]
}

/// Slack between a tier's bound and the heap its programs take: the image (read-write
/// data, stack) is accessible too, and the instance must stay within the tier.
pub const IMAGE_SLACK: u64 = 16 << 10;

/// Setup linking `lines` cache lines at `s0` into one cycle in random order (Sattolo's
/// shuffle with the LCG, then each line's first word pointing at the next line): a walk
/// along it defeats prefetchers and, once the lines outgrow them, the caches and the TLB.
/// Leaves the walk's start in `a0`. Each line's second word holds the shuffle's index.
pub fn random_cycle_setup(lines: u64) -> String {
    format!(
        "load_imm64 t0, 0\nload_imm64 t1, {lines}\nfallthrough\n@init:\nshift_logical_left_imm_64 a0, t0, 6\nadd_64 a0, a0, s0\nstore_indirect_u64 t0, a0, 8\nadd_imm_64 t0, t0, 1\nbranch_not_eq t0, t1, @init\nadd_imm_64 t0, t1, -1\nfallthrough\n@shuffle:\nmul_64 a4, a4, a5\nadd_imm_64 a4, a4, 1\nshift_logical_right_imm_64 a1, a4, 16\nrem_unsigned_64 a1, a1, t0\nshift_logical_left_imm_64 a0, t0, 6\nadd_64 a0, a0, s0\nshift_logical_left_imm_64 a2, a1, 6\nadd_64 a2, a2, s0\nload_indirect_u64 a1, a0, 8\nload_indirect_u64 a3, a2, 8\nstore_indirect_u64 a3, a0, 8\nstore_indirect_u64 a1, a2, 8\nadd_imm_64 t0, t0, -1\nbranch_not_eq_imm t0, 0, @shuffle\nload_imm64 t0, 0\nfallthrough\n@link:\nshift_logical_left_imm_64 a0, t0, 6\nadd_64 a0, a0, s0\nload_indirect_u64 a1, a0, 8\nshift_logical_left_imm_64 a1, a1, 6\nadd_64 a1, a1, s0\nstore_indirect_u64 a1, a0, 0\nadd_imm_64 t0, t0, 1\nbranch_not_eq t0, t1, @link\nmove_reg a0, s0\n"
    )
}

/// Pointer chasing over the heap of an instance with `bytes` accessible: a cycle through
/// every cache line in random order, each line holding the address of the next; every load
/// misses what the working set does not fit in (caches, TLB).
pub fn chase(bytes: u64) -> Gadget {
    let heap = bytes - IMAGE_SLACK;
    let lines = heap / 64;
    Gadget {
        name: format!("load/chase/{}", size_name(bytes)),
        opcode: Some(Opcode::LoadIndirectU64),
        setup: random_cycle_setup(lines),
        body: "load_indirect_u64 a0, a0, 0\n".to_string(),
        others: vec![],
        units: 1,
        heap,
        unroll: UNROLL,
        max_iterations: None,
    }
}

/// Stores to pseudo-random lines of `bytes` of heap.
pub fn scattered_stores(bytes: u64) -> Gadget {
    let heap = bytes - IMAGE_SLACK;
    // The largest power of two within the heap, for a mask.
    let span = 1u64 << (63 - heap.leading_zeros());
    let body = format!(
        "{LCG}shift_logical_right_imm_64 t0, a4, 20\nand_imm t0, t0, {mask}\nadd_64 t0, t0, s0\nstore_indirect_u64 a0, t0, 0\n",
        mask = (span - 1) & !7
    );
    let mut others = LCG_OPS.to_vec();
    others.extend([
        Opcode::ShiftLogicalRightImm64,
        Opcode::AndImm,
        Opcode::Add64,
    ]);
    Gadget {
        name: format!("store/scattered/{}", size_name(bytes)),
        opcode: Some(Opcode::StoreIndirectU64),
        setup: touch_every_page(heap),
        body,
        others,
        units: 1,
        heap,
        unroll: UNROLL,
        max_iterations: None,
    }
}

/// Setup writing a byte into every page of the heap, so the loop measures stores to
/// committed memory (committing a page is what `page` prices, when it is made accessible).
fn touch_every_page(heap: u64) -> String {
    format!(
        "move_reg t0, s0\nload_imm64 t1, {heap}\nadd_64 t1, t1, s0\nfallthrough\n@touch:\nstore_indirect_u8 a0, t0, 0\nadd_imm_64 t0, t0, 4096\nbranch_less_unsigned t0, t1, @touch\n"
    )
}

/// The setup of a table of `targets` jump addresses at `s0` and the target blocks, each
/// jumping back through `t2` and followed by `padding` instructions that never run (which
/// spread the targets over the code).
pub fn jump_table_setup(targets: u32, padding: u32) -> String {
    let mut setup = String::new();
    for i in 0..targets {
        setup.push_str(&format!(
            "load_imm t0, @dj{i}\nstore_indirect_u64 t0, s0, {}\n",
            i * 8
        ));
        // Basic blocks may not cross a 1024-byte macro block: end one now and then.
        if i % 16 == 15 {
            setup.push_str("fallthrough\n");
        }
    }
    setup.push_str("jump @djend\n");
    for i in 0..targets {
        setup.push_str(&format!("@dj{i}:\njump_indirect t2, 0\n"));
        for _ in 0..padding {
            setup.push_str("add_imm_64 a0, a0, 1\n");
        }
        if padding > 0 {
            setup.push_str("trap\n");
        }
    }
    setup.push_str("@djend:\n");
    setup
}

/// A dynamic jump to a random one of `targets` blocks (each jumping back).
pub fn dynamic_jumps(targets: u32) -> Gadget {
    let setup = jump_table_setup(targets, 0);
    let body = format!(
        "{LCG}shift_logical_right_imm_64 t0, a4, {shift}\nshift_logical_left_imm_64 t0, t0, 3\nadd_64 t0, t0, s0\nload_indirect_u64 t1, t0, 0\nload_imm t2, @dr{{n}}\njump_indirect t1, 0\n@dr{{n}}:\n",
        shift = 64 - targets.trailing_zeros()
    );
    let mut others = LCG_OPS.to_vec();
    others.extend([
        Opcode::ShiftLogicalRightImm64,
        Opcode::ShiftLogicalLeftImm64,
        Opcode::Add64,
        Opcode::LoadIndirectU64,
        Opcode::LoadImm,
        // The target block's own jump back is a second dynamic jump: the unit is 2.
    ]);
    Gadget {
        name: format!("jump_indirect/random/{targets}"),
        opcode: Some(Opcode::JumpIndirect),
        setup,
        body,
        others,
        units: 2,
        heap: u64::from(targets) * 8,
        unroll: 8,
        max_iterations: None,
    }
}

/// Pages made accessible by `sbrk` (16 at a time) and touched: the cost per page of
/// committing memory (the `sbrk` instruction and the stores are subtracted).
pub fn pages() -> Gadget {
    let mut body = String::from("sbrk t0, a1\n");
    let mut others = vec![Opcode::Sbrk];
    for page in 1..=16 {
        body.push_str(&format!("store_indirect_u8 a0, t0, -{}\n", page * 4096));
        others.push(Opcode::StoreIndirectU8);
    }
    Gadget {
        name: "page/sbrk+touch".to_string(),
        opcode: None,
        setup: "load_imm a1, 65536\n".to_string(),
        body,
        others,
        units: 16,
        heap: 0,
        unroll: 1,
        // 12.5 MiB of pages at most: within the pallet's memory per instance.
        max_iterations: Some(200),
    }
}

/// `sbrk` of nothing: the instruction's own cost (an exit to the host on the JIT).
pub fn sbrk() -> Gadget {
    Gadget {
        name: "sbrk/zero".to_string(),
        opcode: Some(Opcode::Sbrk),
        setup: "load_imm a1, 0\n".to_string(),
        body: "sbrk t0, a1\n".to_string(),
        others: Vec::new(),
        units: 1,
        heap: 0,
        unroll: UNROLL,
        max_iterations: None,
    }
}

/// `memset` of a 64 KiB heap region: the cost per byte written.
pub fn memset() -> Gadget {
    Gadget {
        name: "memset/bytes".to_string(),
        opcode: None,
        setup: String::new(),
        body: "move_reg a0, s0\nload_imm a1, 7\nload_imm a2, 65536\nmemset\n".to_string(),
        others: vec![Opcode::MoveReg, Opcode::LoadImm, Opcode::LoadImm],
        units: 65536,
        heap: 65536,
        unroll: 1,
        max_iterations: None,
    }
}

/// `trap`-free exit path cost is not loopable; `fallthrough` and `unlikely` chains.
fn argless(opcode: Opcode) -> Vec<Gadget> {
    match opcode {
        Opcode::Fallthrough | Opcode::Unlikely => {
            vec![simple(
                format!("{}/chain", opcode.name()),
                opcode,
                "",
                format!("{}\n", opcode.name()),
                vec![],
            )]
        }
        _ => Vec::new(),
    }
}

/// A readable size: `64KiB`, `16MiB`.
pub fn size_name(bytes: u64) -> String {
    if bytes >= 1 << 20 {
        format!("{}MiB", bytes >> 20)
    } else {
        format!("{}KiB", bytes >> 10)
    }
}

/// The working sets the memory tiers are measured at: each tier's largest accessible
/// memory (the first one within a level-1 data cache, the last one beyond the pallet's
/// 16 MiB, for nodes configured larger).
pub const TIER_SIZES: [u64; 7] = [
    32 << 10,
    64 << 10,
    256 << 10,
    1 << 20,
    4 << 20,
    16 << 20,
    64 << 20,
];

/// Every measured program.
pub fn all() -> Vec<Gadget> {
    let mut out = Vec::new();
    for &opcode in Opcode::ALL {
        if matches!(opcode, Opcode::Sbrk | Opcode::Memset | Opcode::Ecalli) {
            continue;
        }
        let gadgets = match opcode.flow() {
            _ if opcode == Opcode::Fallthrough => argless(opcode),
            Flow::Branch => branches(opcode),
            Flow::Plain if opcode.accesses_memory() => loads_and_stores(opcode),
            Flow::Plain => {
                if opcode.format() == Format::Argless {
                    argless(opcode)
                } else {
                    arithmetic(opcode)
                }
            }
            _ => Vec::new(),
        };
        out.extend(gadgets);
    }
    for bytes in TIER_SIZES {
        out.push(chase(bytes));
        out.push(scattered_stores(bytes));
    }
    out.push(dynamic_jumps(1024));
    out.push(pages());
    out.push(sbrk());
    out.push(memset());
    out.extend(mixes());
    out
}

/// The register instructions the mixes cycle through, each reading what the ones before
/// it wrote (the in-runtime search's worst program of session 17 is the first four).
const MIXED_ALU: [&str; 8] = [
    "add_imm_64 a1, a1, 0x7fff3",
    "set_less_than_unsigned_imm a3, a3, 0x7fff3",
    "shift_logical_left_64 a3, a1, t1",
    "xor_imm t1, a1, 0x7fff3",
    "and a2, a3, a1",
    "or_imm a2, a2, 0x7fff3",
    "sub_64 a3, a2, t1",
    "rotate_right_64 t1, a3, a1",
];

/// Programs of 2, 4 and 8 different register instructions in turn, four copies a loop
/// turn (blocks as short as the search's). Each opcode's own cases repeat that opcode, so
/// an interpreter's dispatch always jumps where it jumped last time; here it does not,
/// which the interpreter inside the runtime (one dispatch site, a wasm `br_table`) pays
/// for on every instruction: 10 ns an instruction against 4.2-4.8 ns in each one's chain.
/// They price no opcode (a mix's cost is its instructions' sum); they bound the `ref_time`
/// per gas that the tables from version 6 on recommend (`gas-model generate`).
pub fn mixes() -> Vec<Gadget> {
    [2usize, 4, 8]
        .into_iter()
        .map(|count| {
            let body: String = MIXED_ALU[..count]
                .iter()
                .map(|line| format!("{line}\n"))
                .collect();
            Gadget {
                name: format!("{MIX_PREFIX}{count}"),
                opcode: None,
                setup: ARITH_SETUP.to_string(),
                body,
                others: Vec::new(),
                units: count as u64,
                heap: 0,
                unroll: 4,
                max_iterations: None,
            }
        })
        .collect()
}

/// The names of [`mixes`] start with this.
pub const MIX_PREFIX: &str = "mix/alu/";
