//! The x86-64 encoder checked against an independent decoder: every instruction form is
//! encoded over all registers, sizes and representative immediates and memory operands,
//! decoded with `iced-x86`, and compared operand by operand with what was asked for. The
//! decoder must consume exactly the emitted bytes, and prefixes must be exactly the needed
//! ones (REX only when an extended register, REX.W or a `spl`..`dil` byte register needs
//! it; `0x66` only for 16-bit operands), displacements and immediates in their shortest form.

#![cfg(all(feature = "std", target_arch = "x86_64"))]

use iced_x86::{Decoder, DecoderOptions, Formatter, Instruction, IntelFormatter, Mnemonic, OpKind};
use iced_x86::{FlowControl, Register};
use pvm_core::jit::x64::{AluOp, Assembler, Cond, EncodeError, Mem, Reg, Scale, ShiftOp, Size};
use std::cell::Cell;

thread_local! {
    /// Encodings checked against the decoder by the current test (each test runs on its
    /// own thread).
    static CHECKED: Cell<usize> = const { Cell::new(0) };
}

fn count(n: usize) {
    CHECKED.with(|c| c.set(c.get() + n));
}

const IMMS: [i32; 13] = [
    0,
    1,
    -1,
    127,
    128,
    -128,
    -129,
    255,
    0x7FFF,
    -0x8000,
    0x1234_5678,
    i32::MIN,
    i32::MAX,
];
const DISPS: [i32; 9] = [0, 1, -1, 127, 128, -128, -129, i32::MIN, i32::MAX];
const SIZES: [Size; 4] = Size::ALL;
const WIDE: [Size; 3] = [Size::B16, Size::B32, Size::B64];

// ---- expectations ------------------------------------------------------------------------

/// One expected operand.
#[derive(Clone, Copy, Debug)]
enum Ex {
    /// A register of a size.
    R(Reg, Size),
    /// A memory operand of `n` bytes (`None`: any size, e.g. `lea`).
    M(Mem, Option<u32>),
    /// An immediate whose low `bits` must equal `value`'s (and, for 64, be sign-extended).
    I(i64, u32),
    /// A near branch target.
    Target(u64),
}

/// What one encoding must decode to.
struct Spec {
    mnemonic: Mnemonic,
    ops: Vec<Ex>,
    /// REX.W must be set (and not set otherwise).
    w: bool,
    /// The `0x66` prefix must be present (and absent otherwise).
    p66: bool,
    /// The exact length, where the test knows the shortest form.
    len: Option<usize>,
}

fn spec(mnemonic: Mnemonic, size: Size, ops: Vec<Ex>) -> Spec {
    Spec {
        mnemonic,
        ops,
        w: size == Size::B64,
        p66: size == Size::B16,
        len: None,
    }
}

fn iced_reg(reg: Reg, size: Size) -> Register {
    use Register::*;
    const R64: [Register; 16] = [
        RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8, R9, R10, R11, R12, R13, R14, R15,
    ];
    const R32: [Register; 16] = [
        EAX, ECX, EDX, EBX, ESP, EBP, ESI, EDI, R8D, R9D, R10D, R11D, R12D, R13D, R14D, R15D,
    ];
    const R16: [Register; 16] = [
        AX, CX, DX, BX, SP, BP, SI, DI, R8W, R9W, R10W, R11W, R12W, R13W, R14W, R15W,
    ];
    const R8B: [Register; 16] = [
        AL, CL, DL, BL, SPL, BPL, SIL, DIL, R8L, R9L, R10L, R11L, R12L, R13L, R14L, R15L,
    ];
    let i = reg.code() as usize;
    match size {
        Size::B8 => R8B[i],
        Size::B16 => R16[i],
        Size::B32 => R32[i],
        Size::B64 => R64[i],
    }
}

fn text(bytes: &[u8]) -> String {
    let mut decoder = Decoder::with_ip(64, bytes, 0, DecoderOptions::NONE);
    let mut out = String::new();
    let mut formatter = IntelFormatter::new();
    while decoder.can_decode() {
        let instr = decoder.decode();
        formatter.format(&instr, &mut out);
        out.push_str("; ");
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The REX byte, if any, after the legacy prefixes.
fn rex_of(bytes: &[u8]) -> Option<u8> {
    bytes
        .iter()
        .copied()
        .find(|b| !matches!(b, 0x66 | 0xF2 | 0xF3))
        .filter(|b| (0x40..=0x4F).contains(b))
}

/// Whether the operands force a REX prefix other than for REX.W.
fn needs_rex(ops: &[Ex]) -> bool {
    ops.iter().any(|op| match *op {
        Ex::R(reg, size) => {
            reg.code() >= 8
                || (size == Size::B8 && matches!(reg, Reg::Rsp | Reg::Rbp | Reg::Rsi | Reg::Rdi))
        }
        Ex::M(mem, _) => {
            mem.base_reg().code() >= 8 || mem.index().is_some_and(|(i, _)| i.code() >= 8)
        }
        _ => false,
    })
}

/// The displacement size the shortest encoding of `mem` has.
fn disp_size(mem: Mem) -> u32 {
    let base5 = mem.base_reg().code() & 7 == 5;
    if mem.disp() == 0 && !base5 {
        0
    } else if mem.disp() as i8 as i32 == mem.disp() {
        1
    } else {
        4
    }
}

fn mask(bits: u32) -> u64 {
    if bits == 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    }
}

/// Decodes `bytes` as one instruction at address 0 and compares it with `spec`.
fn check_at(bytes: &[u8], ip: u64, spec: &Spec, what: &dyn Fn() -> String) {
    count(1);
    let fail = |why: String| -> ! {
        panic!(
            "{}: {why}\n  bytes: {}\n  decoded: {}",
            what(),
            hex(bytes),
            text(bytes)
        )
    };
    let mut decoder = Decoder::with_ip(64, bytes, ip, DecoderOptions::NONE);
    let instr: Instruction = decoder.decode();
    if instr.is_invalid() {
        fail("invalid instruction".into());
    }
    if instr.len() != bytes.len() {
        fail(format!(
            "decoder used {} of {} bytes",
            instr.len(),
            bytes.len()
        ));
    }
    if let Some(len) = spec.len {
        if bytes.len() != len {
            fail(format!(
                "{} bytes, the shortest form has {len}",
                bytes.len()
            ));
        }
    }
    if instr.mnemonic() != spec.mnemonic {
        fail(format!(
            "mnemonic {:?}, expected {:?}",
            instr.mnemonic(),
            spec.mnemonic
        ));
    }
    if instr.op_count() as usize != spec.ops.len() {
        fail(format!(
            "{} operands, expected {}",
            instr.op_count(),
            spec.ops.len()
        ));
    }
    let rex = rex_of(bytes);
    let want_rex = spec.w || needs_rex(&spec.ops);
    if rex.is_some() != want_rex {
        fail(format!(
            "REX present: {}, needed: {want_rex}",
            rex.is_some()
        ));
    }
    if rex.is_some_and(|r| r & 8 != 0) != spec.w {
        fail(format!("REX.W expected: {}", spec.w));
    }
    let p66 = bytes
        .iter()
        .take_while(|b| matches!(b, 0x66 | 0xF3))
        .any(|&b| b == 0x66);
    if p66 != spec.p66 {
        fail(format!("0x66 prefix present: {p66}, expected {}", spec.p66));
    }
    for (i, op) in spec.ops.iter().enumerate() {
        let i = i as u32;
        let kind = instr.op_kind(i);
        match *op {
            Ex::R(reg, size) => {
                let want = iced_reg(reg, size);
                if kind != OpKind::Register || instr.op_register(i) != want {
                    fail(format!(
                        "operand {i}: {kind:?} {:?}, expected {want:?}",
                        instr.op_register(i)
                    ));
                }
            }
            Ex::M(mem, bytes_) => {
                if kind != OpKind::Memory {
                    fail(format!("operand {i}: {kind:?}, expected memory"));
                }
                let base = iced_reg(mem.base_reg(), Size::B64);
                let (index, scale) = match mem.index() {
                    Some((index, scale)) => (iced_reg(index, Size::B64), u32::from(scale.factor())),
                    None => (Register::None, 1),
                };
                let got = (
                    instr.memory_base(),
                    instr.memory_index(),
                    instr.memory_index_scale(),
                    instr.memory_displacement64() as i64,
                );
                let want = (base, index, scale, i64::from(mem.disp()));
                if got != want {
                    fail(format!("memory {got:?}, expected {want:?}"));
                }
                // iced reports a 64-bit-mode disp32 as 8 bytes (it is sign-extended to 64).
                let displ_size = match instr.memory_displ_size() {
                    8 => 4,
                    n => n,
                };
                if displ_size != disp_size(mem) {
                    fail(format!(
                        "displacement of {displ_size} bytes, shortest is {}",
                        disp_size(mem)
                    ));
                }
                if let Some(n) = bytes_ {
                    if instr.memory_size().size() != n as usize {
                        fail(format!(
                            "memory size {:?}, expected {n} bytes",
                            instr.memory_size()
                        ));
                    }
                }
            }
            Ex::I(value, bits) => {
                let got = match kind {
                    OpKind::Immediate8
                    | OpKind::Immediate16
                    | OpKind::Immediate32
                    | OpKind::Immediate64
                    | OpKind::Immediate8to16
                    | OpKind::Immediate8to32
                    | OpKind::Immediate8to64
                    | OpKind::Immediate32to64 => instr.immediate(i),
                    _ => fail(format!("operand {i}: {kind:?}, expected an immediate")),
                };
                if got & mask(bits) != value as u64 & mask(bits) {
                    fail(format!(
                        "immediate {got:#x}, expected {value:#x} in {bits} bits"
                    ));
                }
            }
            Ex::Target(target) => {
                if !matches!(kind, OpKind::NearBranch64) || instr.near_branch64() != target {
                    fail(format!(
                        "branch {kind:?} to {:#x}, expected {target:#x}",
                        instr.near_branch64()
                    ));
                }
            }
        }
    }
}

fn check(bytes: &[u8], spec: &Spec, what: &dyn Fn() -> String) {
    check_at(bytes, 0, spec, what)
}

/// Encodes one instruction with `emit` and checks it.
fn one(emit: impl FnOnce(&mut Assembler), spec: Spec, what: &dyn Fn() -> String) {
    let mut asm = Assembler::new();
    emit(&mut asm);
    check(asm.code(), &spec, what);
}

fn done(test: &str) {
    println!("{test}: {} encodings checked", CHECKED.with(Cell::get));
}

// ---- operand sets ------------------------------------------------------------------------

/// Every base, every index (with every scale) and every displacement.
fn all_mems() -> Vec<Mem> {
    let mut mems = Vec::new();
    for base in Reg::ALL {
        for disp in DISPS {
            mems.push(Mem::base_disp(base, disp));
            for index in Reg::ALL.into_iter().filter(|&r| r != Reg::Rsp) {
                for scale in Scale::ALL {
                    mems.push(Mem::indexed(base, index, scale, disp));
                }
            }
        }
    }
    mems
}

/// The edge cases: every base with every displacement and no index; the SIB and
/// displacement special bases (rsp, rbp, r12, r13) and plain ones with special and plain
/// indexes.
fn some_mems() -> Vec<Mem> {
    let mut mems = Vec::new();
    for base in Reg::ALL {
        for disp in DISPS {
            mems.push(Mem::base_disp(base, disp));
        }
    }
    let bases = [Reg::Rax, Reg::Rsp, Reg::Rbp, Reg::R12, Reg::R13, Reg::R15];
    let indexes = [Reg::Rcx, Reg::Rbp, Reg::R12, Reg::R13, Reg::R9];
    for (i, base) in bases.into_iter().enumerate() {
        for (j, index) in indexes.into_iter().enumerate() {
            for disp in [0, 1, -129, i32::MIN] {
                mems.push(Mem::indexed(base, index, Scale::ALL[(i + j) % 4], disp));
            }
        }
    }
    mems
}

/// A smaller set for forms multiplied by many other parameters.
fn few_mems() -> Vec<Mem> {
    vec![
        Mem::base(Reg::Rax),
        Mem::base(Reg::Rsp),
        Mem::base(Reg::Rbp),
        Mem::base(Reg::R12),
        Mem::base(Reg::R13),
        Mem::base_disp(Reg::Rdi, -1),
        Mem::base_disp(Reg::R15, 128),
        Mem::base_disp(Reg::Rsp, i32::MIN),
        Mem::indexed(Reg::Rbp, Reg::R12, Scale::S8, 0),
        Mem::indexed(Reg::R13, Reg::Rbp, Scale::S2, 127),
        Mem::indexed(Reg::R12, Reg::R13, Scale::S4, -129),
        Mem::indexed(Reg::Rsp, Reg::R9, Scale::S1, i32::MAX),
    ]
}

fn alu_mnemonic(op: AluOp) -> Mnemonic {
    match op {
        AluOp::Add => Mnemonic::Add,
        AluOp::Or => Mnemonic::Or,
        AluOp::Adc => Mnemonic::Adc,
        AluOp::Sbb => Mnemonic::Sbb,
        AluOp::And => Mnemonic::And,
        AluOp::Sub => Mnemonic::Sub,
        AluOp::Xor => Mnemonic::Xor,
        AluOp::Cmp => Mnemonic::Cmp,
    }
}

fn shift_mnemonic(op: ShiftOp) -> Mnemonic {
    match op {
        ShiftOp::Rol => Mnemonic::Rol,
        ShiftOp::Ror => Mnemonic::Ror,
        ShiftOp::Rcl => Mnemonic::Rcl,
        ShiftOp::Rcr => Mnemonic::Rcr,
        ShiftOp::Shl => Mnemonic::Shl,
        ShiftOp::Shr => Mnemonic::Shr,
        ShiftOp::Sar => Mnemonic::Sar,
    }
}

fn cond_mnemonics(cond: Cond) -> [Mnemonic; 3] {
    use Mnemonic::*;
    match cond {
        Cond::O => [Jo, Seto, Cmovo],
        Cond::No => [Jno, Setno, Cmovno],
        Cond::B => [Jb, Setb, Cmovb],
        Cond::Ae => [Jae, Setae, Cmovae],
        Cond::E => [Je, Sete, Cmove],
        Cond::Ne => [Jne, Setne, Cmovne],
        Cond::Be => [Jbe, Setbe, Cmovbe],
        Cond::A => [Ja, Seta, Cmova],
        Cond::S => [Js, Sets, Cmovs],
        Cond::Ns => [Jns, Setns, Cmovns],
        Cond::P => [Jp, Setp, Cmovp],
        Cond::Np => [Jnp, Setnp, Cmovnp],
        Cond::L => [Jl, Setl, Cmovl],
        Cond::Ge => [Jge, Setge, Cmovge],
        Cond::Le => [Jle, Setle, Cmovle],
        Cond::G => [Jg, Setg, Cmovg],
    }
}

/// The immediate as the CPU sees it for an operation of `size` with a sign-extended
/// immediate: truncated to the operand size (64-bit operations sign-extend an imm32).
fn imm_value(size: Size, imm: i32) -> i64 {
    match size {
        Size::B8 => i64::from(imm as i8),
        Size::B16 => i64::from(imm as i16),
        _ => i64::from(imm),
    }
}

/// Length of the shortest `op r/m, imm` form: prefixes + opcode + ModRM(+SIB+disp) + imm.
fn alu_imm_len(size: Size, rex: bool, modrm_len: usize, imm: i32, short_acc: bool) -> usize {
    let prefixes = usize::from(size == Size::B16) + usize::from(rex);
    let v = imm_value(size, imm);
    let imm_len = match size {
        Size::B8 => 1,
        _ if (-128..=127).contains(&v) => 1,
        Size::B16 => 2,
        _ => 4,
    };
    if short_acc && (size == Size::B8 || imm_len > 1) {
        prefixes + 1 + imm_len
    } else {
        prefixes + 1 + modrm_len + imm_len
    }
}

fn mem_len(mem: Mem) -> usize {
    let sib = mem.index().is_some() || mem.base_reg().code() & 7 == 4;
    1 + usize::from(sib) + disp_size(mem) as usize
}

// ---- the binary ALU operations -----------------------------------------------------------

#[test]
fn alu_reg_reg() {
    for op in AluOp::ALL {
        for size in SIZES {
            for dst in Reg::ALL {
                for src in Reg::ALL {
                    let s = spec(
                        alu_mnemonic(op),
                        size,
                        vec![Ex::R(dst, size), Ex::R(src, size)],
                    );
                    one(|a| a.alu_rr(op, size, dst, src), s, &|| {
                        format!("{op:?} {size:?} {dst:?}, {src:?}")
                    });
                }
            }
        }
    }
    done("alu_reg_reg");
}

#[test]
fn alu_reg_imm() {
    for op in AluOp::ALL {
        for size in SIZES {
            for dst in Reg::ALL {
                for imm in IMMS {
                    let mut s = spec(
                        alu_mnemonic(op),
                        size,
                        vec![Ex::R(dst, size), Ex::I(imm_value(size, imm), size.bits())],
                    );
                    let rex = size == Size::B64 || needs_rex(&s.ops[..1]);
                    s.len = Some(alu_imm_len(size, rex, 1, imm, dst == Reg::Rax));
                    one(|a| a.alu_ri(op, size, dst, imm), s, &|| {
                        format!("{op:?} {size:?} {dst:?}, {imm}")
                    });
                }
            }
        }
    }
    done("alu_reg_imm");
}

#[test]
fn alu_reg_mem_and_mem_reg() {
    let mems = some_mems();
    for op in AluOp::ALL {
        for size in SIZES {
            for reg in Reg::ALL {
                for &mem in &mems {
                    let m = Ex::M(mem, Some(size.bytes()));
                    let s = spec(alu_mnemonic(op), size, vec![Ex::R(reg, size), m]);
                    one(|a| a.alu_rm(op, size, reg, mem), s, &|| {
                        format!("{op:?} {size:?} {reg:?}, {mem:?}")
                    });
                    let s = spec(alu_mnemonic(op), size, vec![m, Ex::R(reg, size)]);
                    one(|a| a.alu_mr(op, size, mem, reg), s, &|| {
                        format!("{op:?} {size:?} {mem:?}, {reg:?}")
                    });
                }
            }
        }
    }
    done("alu_reg_mem_and_mem_reg");
}

#[test]
fn alu_mem_imm() {
    let mems = some_mems();
    for op in AluOp::ALL {
        for size in SIZES {
            for &mem in &mems {
                for imm in IMMS {
                    let mut s = spec(
                        alu_mnemonic(op),
                        size,
                        vec![
                            Ex::M(mem, Some(size.bytes())),
                            Ex::I(imm_value(size, imm), size.bits()),
                        ],
                    );
                    let rex = size == Size::B64 || needs_rex(&s.ops[..1]);
                    s.len = Some(alu_imm_len(size, rex, mem_len(mem), imm, false));
                    one(|a| a.alu_mi(op, size, mem, imm), s, &|| {
                        format!("{op:?} {size:?} {mem:?}, {imm}")
                    });
                }
            }
        }
    }
    done("alu_mem_imm");
}

/// The named wrappers (`add_rr`, `cmp_mi`, ...) are the generic forms.
#[test]
fn alu_named_methods_match_generic_ones() {
    type Named = (
        AluOp,
        fn(&mut Assembler, Size, Reg, Reg),
        fn(&mut Assembler, Size, Reg, i32),
        fn(&mut Assembler, Size, Reg, Mem),
        fn(&mut Assembler, Size, Mem, Reg),
        fn(&mut Assembler, Size, Mem, i32),
    );
    let named: [Named; 8] = [
        (
            AluOp::Add,
            Assembler::add_rr,
            Assembler::add_ri,
            Assembler::add_rm,
            Assembler::add_mr,
            Assembler::add_mi,
        ),
        (
            AluOp::Or,
            Assembler::or_rr,
            Assembler::or_ri,
            Assembler::or_rm,
            Assembler::or_mr,
            Assembler::or_mi,
        ),
        (
            AluOp::Adc,
            Assembler::adc_rr,
            Assembler::adc_ri,
            Assembler::adc_rm,
            Assembler::adc_mr,
            Assembler::adc_mi,
        ),
        (
            AluOp::Sbb,
            Assembler::sbb_rr,
            Assembler::sbb_ri,
            Assembler::sbb_rm,
            Assembler::sbb_mr,
            Assembler::sbb_mi,
        ),
        (
            AluOp::And,
            Assembler::and_rr,
            Assembler::and_ri,
            Assembler::and_rm,
            Assembler::and_mr,
            Assembler::and_mi,
        ),
        (
            AluOp::Sub,
            Assembler::sub_rr,
            Assembler::sub_ri,
            Assembler::sub_rm,
            Assembler::sub_mr,
            Assembler::sub_mi,
        ),
        (
            AluOp::Xor,
            Assembler::xor_rr,
            Assembler::xor_ri,
            Assembler::xor_rm,
            Assembler::xor_mr,
            Assembler::xor_mi,
        ),
        (
            AluOp::Cmp,
            Assembler::cmp_rr,
            Assembler::cmp_ri,
            Assembler::cmp_rm,
            Assembler::cmp_mr,
            Assembler::cmp_mi,
        ),
    ];
    let mem = Mem::indexed(Reg::R13, Reg::R12, Scale::S8, -129);
    for (op, rr, ri, rm, mr, mi) in named {
        for size in SIZES {
            let (mut a, mut b) = (Assembler::new(), Assembler::new());
            rr(&mut a, size, Reg::R9, Reg::Rsi);
            b.alu_rr(op, size, Reg::R9, Reg::Rsi);
            ri(&mut a, size, Reg::Rdi, 1000);
            b.alu_ri(op, size, Reg::Rdi, 1000);
            rm(&mut a, size, Reg::Rbp, mem);
            b.alu_rm(op, size, Reg::Rbp, mem);
            mr(&mut a, size, mem, Reg::R15);
            b.alu_mr(op, size, mem, Reg::R15);
            mi(&mut a, size, mem, -5);
            b.alu_mi(op, size, mem, -5);
            assert_eq!(a.code(), b.code(), "{op:?} {size:?}");
        }
    }
}

#[test]
fn test_forms() {
    let mems = some_mems();
    for size in SIZES {
        for a in Reg::ALL {
            for b in Reg::ALL {
                let s = spec(Mnemonic::Test, size, vec![Ex::R(a, size), Ex::R(b, size)]);
                one(|x| x.test_rr(size, a, b), s, &|| {
                    format!("test {size:?} {a:?}, {b:?}")
                });
            }
            for imm in IMMS {
                let mut s = spec(
                    Mnemonic::Test,
                    size,
                    vec![Ex::R(a, size), Ex::I(imm_value(size, imm), size.bits())],
                );
                // No imm8 form: the full immediate, short form for the accumulator.
                let rex = size == Size::B64 || needs_rex(&s.ops[..1]);
                let imm_len = [1, 2, 4, 4][size as usize];
                let opcode_modrm = if a == Reg::Rax { 1 } else { 2 };
                s.len = Some(
                    usize::from(size == Size::B16) + usize::from(rex) + opcode_modrm + imm_len,
                );
                one(|x| x.test_ri(size, a, imm), s, &|| {
                    format!("test {size:?} {a:?}, {imm}")
                });
            }
            for &mem in &mems {
                let s = spec(
                    Mnemonic::Test,
                    size,
                    vec![Ex::M(mem, Some(size.bytes())), Ex::R(a, size)],
                );
                one(|x| x.test_mr(size, mem, a), s, &|| {
                    format!("test {size:?} {mem:?}, {a:?}")
                });
            }
        }
        for &mem in &mems {
            for imm in IMMS {
                let s = spec(
                    Mnemonic::Test,
                    size,
                    vec![
                        Ex::M(mem, Some(size.bytes())),
                        Ex::I(imm_value(size, imm), size.bits()),
                    ],
                );
                one(|x| x.test_mi(size, mem, imm), s, &|| {
                    format!("test {size:?} {mem:?}, {imm}")
                });
            }
        }
    }
    done("test_forms");
}

// ---- unary, multiply, divide ---------------------------------------------------------------

#[test]
fn unary_group() {
    type Unary = fn(&mut Assembler, Size, Reg);
    let ops: [(Unary, Mnemonic); 6] = [
        (Assembler::neg, Mnemonic::Neg),
        (Assembler::not, Mnemonic::Not),
        (Assembler::mul, Mnemonic::Mul),
        (Assembler::imul, Mnemonic::Imul),
        (Assembler::div, Mnemonic::Div),
        (Assembler::idiv, Mnemonic::Idiv),
    ];
    for (emit, mnemonic) in ops {
        for size in SIZES {
            for reg in Reg::ALL {
                let s = spec(mnemonic, size, vec![Ex::R(reg, size)]);
                one(|a| emit(a, size, reg), s, &|| {
                    format!("{mnemonic:?} {size:?} {reg:?}")
                });
            }
        }
    }
    let s = Spec {
        len: Some(1),
        ..spec(Mnemonic::Cdq, Size::B32, vec![])
    };
    one(|a| a.cdq(), s, &|| "cdq".into());
    let s = Spec {
        len: Some(2),
        ..spec(Mnemonic::Cqo, Size::B64, vec![])
    };
    one(|a| a.cqo(), s, &|| "cqo".into());
    done("unary_group");
}

#[test]
fn imul_forms() {
    let mems = some_mems();
    for size in WIDE {
        for dst in Reg::ALL {
            for src in Reg::ALL {
                let s = spec(
                    Mnemonic::Imul,
                    size,
                    vec![Ex::R(dst, size), Ex::R(src, size)],
                );
                one(|a| a.imul_rr(size, dst, src), s, &|| {
                    format!("imul {size:?} {dst:?}, {src:?}")
                });
                for imm in IMMS {
                    let v = imm_value(size, imm);
                    let mut s = spec(
                        Mnemonic::Imul,
                        size,
                        vec![Ex::R(dst, size), Ex::R(src, size), Ex::I(v, size.bits())],
                    );
                    let rex = size == Size::B64 || needs_rex(&s.ops[..2]);
                    let imm_len = if (-128..=127).contains(&v) {
                        1
                    } else {
                        [1, 2, 4, 4][size as usize]
                    };
                    s.len = Some(usize::from(size == Size::B16) + usize::from(rex) + 2 + imm_len);
                    one(|a| a.imul_rri(size, dst, src, imm), s, &|| {
                        format!("imul {size:?} {dst:?}, {src:?}, {imm}")
                    });
                }
            }
            for &mem in &mems {
                let s = spec(
                    Mnemonic::Imul,
                    size,
                    vec![Ex::R(dst, size), Ex::M(mem, Some(size.bytes()))],
                );
                one(|a| a.imul_rm(size, dst, mem), s, &|| {
                    format!("imul {size:?} {dst:?}, {mem:?}")
                });
            }
        }
    }
    done("imul_forms");
}

#[test]
#[should_panic(expected = "no 8-bit form")]
fn imul_has_no_byte_form() {
    Assembler::new().imul_rr(Size::B8, Reg::Rax, Reg::Rcx);
}

// ---- shifts, bit counts, bswap -------------------------------------------------------------

#[test]
fn shifts() {
    for op in ShiftOp::ALL {
        for size in SIZES {
            for reg in Reg::ALL {
                for count in [0u8, 1, 2, 7, 31, 32, 63, 64, 255] {
                    let mut s = spec(
                        shift_mnemonic(op),
                        size,
                        vec![Ex::R(reg, size), Ex::I(i64::from(count), 8)],
                    );
                    let rex = size == Size::B64 || needs_rex(&s.ops[..1]);
                    s.len = Some(
                        usize::from(size == Size::B16)
                            + usize::from(rex)
                            + 2
                            + usize::from(count != 1),
                    );
                    one(|a| a.shift_ri(op, size, reg, count), s, &|| {
                        format!("{op:?} {size:?} {reg:?}, {count}")
                    });
                }
                let s = spec(
                    shift_mnemonic(op),
                    size,
                    vec![Ex::R(reg, size), Ex::R(Reg::Rcx, Size::B8)],
                );
                one(|a| a.shift_rcl(op, size, reg), s, &|| {
                    format!("{op:?} {size:?} {reg:?}, cl")
                });
            }
        }
    }
    // The named forms.
    type Named = (
        ShiftOp,
        fn(&mut Assembler, Size, Reg, u8),
        fn(&mut Assembler, Size, Reg),
    );
    let named: [Named; 5] = [
        (ShiftOp::Rol, Assembler::rol_ri, Assembler::rol_cl),
        (ShiftOp::Ror, Assembler::ror_ri, Assembler::ror_cl),
        (ShiftOp::Shl, Assembler::shl_ri, Assembler::shl_cl),
        (ShiftOp::Shr, Assembler::shr_ri, Assembler::shr_cl),
        (ShiftOp::Sar, Assembler::sar_ri, Assembler::sar_cl),
    ];
    for (op, ri, cl) in named {
        let (mut a, mut b) = (Assembler::new(), Assembler::new());
        ri(&mut a, Size::B64, Reg::R11, 13);
        b.shift_ri(op, Size::B64, Reg::R11, 13);
        cl(&mut a, Size::B32, Reg::Rdi);
        b.shift_rcl(op, Size::B32, Reg::Rdi);
        assert_eq!(a.code(), b.code(), "{op:?}");
    }
    done("shifts");
}

/// The BMI instructions are VEX-encoded, so the REX checks of [`check`] do not apply:
/// every register triple and both sizes are decoded and compared here, in five bytes
/// each, operands in the order the methods take them.
#[test]
fn bmi_three_register_forms() {
    type Bmi = fn(&mut Assembler, Size, Reg, Reg, Reg);
    let forms: [(Bmi, Mnemonic); 5] = [
        (Assembler::andn, Mnemonic::Andn),
        (Assembler::mulx, Mnemonic::Mulx),
        (
            |a, size, dst, src, count| a.shift_x(ShiftOp::Shl, size, dst, src, count),
            Mnemonic::Shlx,
        ),
        (
            |a, size, dst, src, count| a.shift_x(ShiftOp::Shr, size, dst, src, count),
            Mnemonic::Shrx,
        ),
        (
            |a, size, dst, src, count| a.shift_x(ShiftOp::Sar, size, dst, src, count),
            Mnemonic::Sarx,
        ),
    ];
    for (emit, mnemonic) in forms {
        for size in [Size::B32, Size::B64] {
            for first in Reg::ALL {
                for second in Reg::ALL {
                    for third in Reg::ALL {
                        let mut asm = Assembler::new();
                        emit(&mut asm, size, first, second, third);
                        let bytes = asm.code();
                        count(1);
                        let instr = Decoder::new(64, bytes, DecoderOptions::NONE).decode();
                        let what = || {
                            format!(
                                "{mnemonic:?} {size:?} {first:?}, {second:?}, {third:?}: {}",
                                hex(bytes)
                            )
                        };
                        assert_eq!(instr.mnemonic(), mnemonic, "{}", what());
                        assert_eq!(instr.len(), 5, "{}", what());
                        assert_eq!(bytes.len(), 5, "{}", what());
                        assert_eq!(instr.op_count(), 3, "{}", what());
                        let regs = [first, second, third].map(|reg| iced_reg(reg, size));
                        for (i, want) in regs.into_iter().enumerate() {
                            assert_eq!(instr.op_kind(i as u32), OpKind::Register, "{}", what());
                            assert_eq!(instr.op_register(i as u32), want, "{}", what());
                        }
                    }
                }
            }
        }
    }
    for size in [Size::B32, Size::B64] {
        for dst in Reg::ALL {
            for src in Reg::ALL {
                for amount in [0u8, 1, 7, 31, 32, 63] {
                    let mut asm = Assembler::new();
                    asm.rorx(size, dst, src, amount);
                    let bytes = asm.code();
                    count(1);
                    let instr = Decoder::new(64, bytes, DecoderOptions::NONE).decode();
                    let what =
                        || format!("rorx {size:?} {dst:?}, {src:?}, {amount}: {}", hex(bytes));
                    assert_eq!(instr.mnemonic(), Mnemonic::Rorx, "{}", what());
                    assert_eq!((instr.len(), bytes.len()), (6, 6), "{}", what());
                    assert_eq!(instr.op_register(0), iced_reg(dst, size), "{}", what());
                    assert_eq!(instr.op_register(1), iced_reg(src, size), "{}", what());
                    assert_eq!(instr.op_kind(2), OpKind::Immediate8, "{}", what());
                    assert_eq!(instr.immediate8(), amount, "{}", what());
                }
            }
        }
    }
    done("bmi_three_register_forms");
}

#[test]
fn bit_counts_and_bswap() {
    type Count = fn(&mut Assembler, Size, Reg, Reg);
    let ops: [(Count, Mnemonic); 3] = [
        (Assembler::lzcnt, Mnemonic::Lzcnt),
        (Assembler::tzcnt, Mnemonic::Tzcnt),
        (Assembler::popcnt, Mnemonic::Popcnt),
    ];
    for (emit, mnemonic) in ops {
        for size in WIDE {
            for dst in Reg::ALL {
                for src in Reg::ALL {
                    let s = spec(mnemonic, size, vec![Ex::R(dst, size), Ex::R(src, size)]);
                    one(|a| emit(a, size, dst, src), s, &|| {
                        format!("{mnemonic:?} {size:?} {dst:?}, {src:?}")
                    });
                }
            }
        }
    }
    for size in [Size::B32, Size::B64] {
        for reg in Reg::ALL {
            let s = spec(Mnemonic::Bswap, size, vec![Ex::R(reg, size)]);
            one(|a| a.bswap(size, reg), s, &|| {
                format!("bswap {size:?} {reg:?}")
            });
        }
    }
    done("bit_counts_and_bswap");
}

// ---- moves -----------------------------------------------------------------------------------

#[test]
fn mov_reg_reg_and_xchg() {
    let mems = some_mems();
    for size in SIZES {
        for dst in Reg::ALL {
            for src in Reg::ALL {
                let s = spec(
                    Mnemonic::Mov,
                    size,
                    vec![Ex::R(dst, size), Ex::R(src, size)],
                );
                one(|a| a.mov_rr(size, dst, src), s, &|| {
                    format!("mov {size:?} {dst:?}, {src:?}")
                });
                let s = spec(
                    Mnemonic::Xchg,
                    size,
                    vec![Ex::R(dst, size), Ex::R(src, size)],
                );
                one(|a| a.xchg_rr(size, dst, src), s, &|| {
                    format!("xchg {size:?} {dst:?}, {src:?}")
                });
            }
            for &mem in &mems {
                let s = spec(
                    Mnemonic::Xchg,
                    size,
                    vec![Ex::M(mem, Some(size.bytes())), Ex::R(dst, size)],
                );
                one(|a| a.xchg_mr(size, mem, dst), s, &|| {
                    format!("xchg {size:?} {mem:?}, {dst:?}")
                });
            }
        }
    }
    done("mov_reg_reg_and_xchg");
}

/// `mov r, imm` picks the shortest encoding and loads exactly the requested value.
#[test]
fn mov_reg_imm() {
    let values: [i64; 22] = [
        0,
        1,
        -1,
        127,
        128,
        -128,
        -129,
        255,
        0xFFFF,
        0x1_0000,
        0x7FFF_FFFF,
        0x8000_0000,
        0xFFFF_FFFF,
        0x1_0000_0000,
        -0x8000_0000,
        -0x8000_0001,
        i64::from(i32::MIN),
        i64::from(i32::MAX),
        0x1234_5678_9ABC_DEF0,
        -0x1234_5678_9ABC_DEF0,
        i64::MIN,
        i64::MAX,
    ];
    for size in SIZES {
        for dst in Reg::ALL {
            for value in values {
                let what = || format!("mov {size:?} {dst:?}, {value:#x}");
                let mut asm = Assembler::new();
                asm.mov_ri(size, dst, value);
                let bytes = asm.code();
                let ext = usize::from(dst.code() >= 8);
                let (s, len) = match size {
                    Size::B64 if value as u64 <= u64::from(u32::MAX) => {
                        // mov r32, imm32 zero-extends: same value, no REX.W.
                        (
                            spec(
                                Mnemonic::Mov,
                                Size::B32,
                                vec![Ex::R(dst, Size::B32), Ex::I(value, 32)],
                            ),
                            5 + ext,
                        )
                    }
                    Size::B64 if value as i32 as i64 == value => (
                        spec(
                            Mnemonic::Mov,
                            Size::B64,
                            vec![Ex::R(dst, Size::B64), Ex::I(value, 64)],
                        ),
                        7,
                    ),
                    Size::B64 => (
                        spec(
                            Mnemonic::Mov,
                            Size::B64,
                            vec![Ex::R(dst, Size::B64), Ex::I(value, 64)],
                        ),
                        10,
                    ),
                    _ => {
                        let s = spec(
                            Mnemonic::Mov,
                            size,
                            vec![Ex::R(dst, size), Ex::I(value, size.bits())],
                        );
                        let rex = needs_rex(&s.ops[..1]);
                        let len = usize::from(size == Size::B16)
                            + usize::from(rex)
                            + 1
                            + size.bytes() as usize;
                        (s, len)
                    }
                };
                check(
                    bytes,
                    &Spec {
                        len: Some(len),
                        ..s
                    },
                    &what,
                );
            }
        }
    }
    done("mov_reg_imm");
}

/// Loads and stores of every width over every base, index, scale and displacement (with
/// two data registers; all sixteen over the edge-case operands).
#[test]
fn loads_and_stores() {
    let all = all_mems();
    let some = some_mems();
    for size in SIZES {
        for (regs, mems) in [(&[Reg::Rax, Reg::R14][..], &all), (&Reg::ALL[..], &some)] {
            for &reg in regs {
                for &mem in mems.iter() {
                    let m = Ex::M(mem, Some(size.bytes()));
                    let s = spec(Mnemonic::Mov, size, vec![Ex::R(reg, size), m]);
                    one(|a| a.mov_rm(size, reg, mem), s, &|| {
                        format!("load {size:?} {reg:?}, {mem:?}")
                    });
                    let s = spec(Mnemonic::Mov, size, vec![m, Ex::R(reg, size)]);
                    one(|a| a.mov_mr(size, mem, reg), s, &|| {
                        format!("store {size:?} {mem:?}, {reg:?}")
                    });
                }
            }
        }
        for &mem in &some {
            for imm in IMMS {
                let v = imm_value(size, imm);
                let s = spec(
                    Mnemonic::Mov,
                    size,
                    vec![Ex::M(mem, Some(size.bytes())), Ex::I(v, size.bits())],
                );
                one(|a| a.mov_mi(size, mem, imm), s, &|| {
                    format!("store {size:?} {mem:?}, {imm}")
                });
            }
        }
    }
    done("loads_and_stores");
}

#[test]
fn zero_and_sign_extension() {
    let mems = some_mems();
    for dst in Reg::ALL {
        for src in Reg::ALL {
            // movzx always writes 32 bits (clearing the rest): no REX.W.
            for (from, mnemonic, to) in [
                (Size::B8, Mnemonic::Movzx, Size::B32),
                (Size::B16, Mnemonic::Movzx, Size::B32),
                (Size::B32, Mnemonic::Mov, Size::B32),
                (Size::B64, Mnemonic::Mov, Size::B64),
            ] {
                let mut s = spec(mnemonic, to, vec![Ex::R(dst, to), Ex::R(src, from)]);
                s.p66 = false;
                one(|a| a.movzx_rr(from, dst, src), s, &|| {
                    format!("movzx {from:?} {dst:?}, {src:?}")
                });
            }
            for (to, from, mnemonic) in [
                (Size::B32, Size::B8, Mnemonic::Movsx),
                (Size::B32, Size::B16, Mnemonic::Movsx),
                (Size::B64, Size::B8, Mnemonic::Movsx),
                (Size::B64, Size::B16, Mnemonic::Movsx),
                (Size::B64, Size::B32, Mnemonic::Movsxd),
            ] {
                let mut s = spec(mnemonic, to, vec![Ex::R(dst, to), Ex::R(src, from)]);
                s.p66 = false;
                one(|a| a.movsx_rr(to, from, dst, src), s, &|| {
                    format!("movsx {to:?} {from:?} {dst:?}, {src:?}")
                });
            }
        }
        for &mem in &mems {
            for (from, mnemonic, to) in [
                (Size::B8, Mnemonic::Movzx, Size::B32),
                (Size::B16, Mnemonic::Movzx, Size::B32),
                (Size::B32, Mnemonic::Mov, Size::B32),
                (Size::B64, Mnemonic::Mov, Size::B64),
            ] {
                let mut s = spec(
                    mnemonic,
                    to,
                    vec![Ex::R(dst, to), Ex::M(mem, Some(from.bytes()))],
                );
                s.p66 = false;
                one(|a| a.movzx_rm(from, dst, mem), s, &|| {
                    format!("movzx {from:?} {dst:?}, {mem:?}")
                });
            }
            for (to, from, mnemonic) in [
                (Size::B32, Size::B8, Mnemonic::Movsx),
                (Size::B32, Size::B16, Mnemonic::Movsx),
                (Size::B64, Size::B8, Mnemonic::Movsx),
                (Size::B64, Size::B16, Mnemonic::Movsx),
                (Size::B64, Size::B32, Mnemonic::Movsxd),
            ] {
                let mut s = spec(
                    mnemonic,
                    to,
                    vec![Ex::R(dst, to), Ex::M(mem, Some(from.bytes()))],
                );
                s.p66 = false;
                one(|a| a.movsx_rm(to, from, dst, mem), s, &|| {
                    format!("movsx {to:?} {from:?} {dst:?}, {mem:?}")
                });
            }
        }
    }
    done("zero_and_sign_extension");
}

#[test]
#[should_panic(expected = "smaller size")]
fn movsx_needs_a_smaller_source() {
    Assembler::new().movsx_rr(Size::B32, Size::B32, Reg::Rax, Reg::Rcx);
}

#[test]
fn lea_every_address_form() {
    let all = all_mems();
    for size in WIDE {
        for dst in [Reg::Rax, Reg::Rsp, Reg::R9, Reg::R13] {
            for &mem in &all {
                let s = spec(
                    Mnemonic::Lea,
                    size,
                    vec![Ex::R(dst, size), Ex::M(mem, None)],
                );
                one(|a| a.lea(size, dst, mem), s, &|| {
                    format!("lea {size:?} {dst:?}, {mem:?}")
                });
            }
        }
    }
    done("lea_every_address_form");
}

#[test]
#[should_panic(expected = "rsp cannot be a memory index")]
fn rsp_is_no_index() {
    let _ = Mem::indexed(Reg::Rax, Reg::Rsp, Scale::S1, 0);
}

#[test]
fn push_pop_cmov_setcc() {
    for reg in Reg::ALL {
        let len = 1 + usize::from(reg.code() >= 8);
        let mut s = spec(Mnemonic::Push, Size::B32, vec![Ex::R(reg, Size::B64)]);
        s.len = Some(len);
        one(|a| a.push(reg), s, &|| format!("push {reg:?}"));
        let mut s = spec(Mnemonic::Pop, Size::B32, vec![Ex::R(reg, Size::B64)]);
        s.len = Some(len);
        one(|a| a.pop(reg), s, &|| format!("pop {reg:?}"));
    }
    for imm in IMMS {
        let mut s = spec(Mnemonic::Push, Size::B32, vec![Ex::I(i64::from(imm), 64)]);
        s.len = Some(if imm as i8 as i32 == imm { 2 } else { 5 });
        one(|a| a.push_imm(imm), s, &|| format!("push {imm}"));
    }
    let mems = few_mems();
    for cond in Cond::ALL {
        let [_, set, cmov] = cond_mnemonics(cond);
        for dst in Reg::ALL {
            let s = spec(set, Size::B8, vec![Ex::R(dst, Size::B8)]);
            one(|a| a.setcc(cond, dst), s, &|| {
                format!("set{cond:?} {dst:?}")
            });
            for size in WIDE {
                for src in Reg::ALL {
                    let s = spec(cmov, size, vec![Ex::R(dst, size), Ex::R(src, size)]);
                    one(|a| a.cmov_rr(cond, size, dst, src), s, &|| {
                        format!("cmov{cond:?} {size:?} {dst:?}, {src:?}")
                    });
                }
                for &mem in &mems {
                    let s = spec(
                        cmov,
                        size,
                        vec![Ex::R(dst, size), Ex::M(mem, Some(size.bytes()))],
                    );
                    one(|a| a.cmov_rm(cond, size, dst, mem), s, &|| {
                        format!("cmov{cond:?} {size:?} {dst:?}, {mem:?}")
                    });
                }
            }
        }
        assert_eq!(cond.invert().invert(), cond);
        assert_eq!(cond_mnemonics(cond.invert())[0], {
            // The inverted jump of a condition is its pair: jo/jno, jb/jae, ...
            let pairs = Cond::ALL.map(|c| cond_mnemonics(c)[0]);
            pairs[(cond.code() ^ 1) as usize]
        });
    }
    done("push_pop_cmov_setcc");
}

// ---- control flow ----------------------------------------------------------------------------

#[test]
fn indirect_jumps_calls_and_single_byte_forms() {
    for reg in Reg::ALL {
        // The default operand size of near jumps and calls is 64 bits: no REX.W.
        let mut s = spec(Mnemonic::Jmp, Size::B32, vec![Ex::R(reg, Size::B64)]);
        s.len = Some(2 + usize::from(reg.code() >= 8));
        one(|a| a.jmp_reg(reg), s, &|| format!("jmp {reg:?}"));
        let mut s = spec(Mnemonic::Call, Size::B32, vec![Ex::R(reg, Size::B64)]);
        s.len = Some(2 + usize::from(reg.code() >= 8));
        one(|a| a.call_reg(reg), s, &|| format!("call {reg:?}"));
    }
    for mem in some_mems() {
        let s = spec(Mnemonic::Jmp, Size::B32, vec![Ex::M(mem, Some(8))]);
        one(|a| a.jmp_mem(mem), s, &|| format!("jmp {mem:?}"));
        let s = spec(Mnemonic::Call, Size::B32, vec![Ex::M(mem, Some(8))]);
        one(|a| a.call_mem(mem), s, &|| format!("call {mem:?}"));
    }
    type Plain = fn(&mut Assembler);
    let plain: [(Plain, Mnemonic, usize); 4] = [
        (Assembler::ret, Mnemonic::Ret, 1),
        (Assembler::ud2, Mnemonic::Ud2, 2),
        (Assembler::int3, Mnemonic::Int3, 1),
        (Assembler::nop, Mnemonic::Nop, 1),
    ];
    for (emit, mnemonic, len) in plain {
        let s = Spec {
            len: Some(len),
            ..spec(mnemonic, Size::B32, vec![])
        };
        one(emit, s, &|| format!("{mnemonic:?}"));
    }
    done("indirect_jumps_calls_and_single_byte_forms");
}

#[test]
fn nops_and_align() {
    for len in 0..=40 {
        let mut asm = Assembler::new();
        asm.nops(len);
        assert_eq!(asm.offset(), len);
        let mut decoder = Decoder::with_ip(64, asm.code(), 0, DecoderOptions::NONE);
        let mut decoded = 0;
        while decoder.can_decode() {
            let instr = decoder.decode();
            assert_eq!(
                instr.mnemonic(),
                Mnemonic::Nop,
                "nops({len}): {}",
                text(asm.code())
            );
            decoded += 1;
        }
        assert_eq!(
            decoded,
            len.div_ceil(9),
            "nops({len}) uses the fewest instructions"
        );
        count(decoded);
    }
    for start in 0..40 {
        for alignment in [1, 2, 4, 8, 16, 32, 64] {
            let mut asm = Assembler::new();
            asm.nops(start);
            asm.align(alignment);
            assert_eq!(asm.offset() % alignment, 0);
            assert!(asm.offset() - start < alignment);
        }
    }
    done("nops_and_align");
}

/// Decodes the whole buffer and returns (offset, instruction) pairs.
fn decode_all(code: &[u8]) -> Vec<(usize, Instruction)> {
    let mut decoder = Decoder::with_ip(64, code, 0, DecoderOptions::NONE);
    let mut out = Vec::new();
    while decoder.can_decode() {
        let offset = decoder.position();
        let instr = decoder.decode();
        assert!(!instr.is_invalid(), "invalid at {offset:#x}: {}", hex(code));
        out.push((offset, instr));
    }
    out
}

#[test]
fn labels_forward_and_backward() {
    for cond in Cond::ALL {
        let [jcc, _, _] = cond_mnemonics(cond);
        let mut asm = Assembler::new();
        let (back, fwd, far_back, func) = (asm.label(), asm.label(), asm.label(), asm.label());
        asm.bind(far_back);
        asm.nops(200); // out of rel8 reach
        asm.bind(back); // 200
        asm.nop();
        let near_jcc = asm.offset();
        asm.jcc(cond, back); // backward, short
        let near_jmp = asm.offset();
        asm.jmp(back);
        let far_jcc = asm.offset();
        asm.jcc(cond, far_back); // backward, rel32 at once
        let far_jmp = asm.offset();
        asm.jmp(far_back);
        let fwd_jcc = asm.offset();
        asm.jcc(cond, fwd); // forward: rel32 fixup
        let fwd_jmp = asm.offset();
        asm.jmp(fwd);
        let call = asm.offset();
        asm.call(func); // forward call
        let lea = asm.offset();
        asm.lea_label(Reg::R12, fwd);
        asm.int3();
        let fwd_at = asm.offset();
        asm.bind(fwd);
        asm.ret();
        let func_at = asm.offset();
        asm.bind(func);
        let back_call = asm.offset();
        asm.call(back); // backward call
        let back_lea = asm.offset();
        asm.lea_label(Reg::Rax, far_back);
        assert_eq!(asm.label_offset(fwd), Some(fwd_at));
        let code = asm.finalize().unwrap();

        let t = |x: usize| Ex::Target(x as u64);
        let expect: Vec<(usize, Spec)> = vec![
            (
                near_jcc,
                Spec {
                    len: Some(2),
                    ..spec(jcc, Size::B32, vec![t(200)])
                },
            ),
            (
                near_jmp,
                Spec {
                    len: Some(2),
                    ..spec(Mnemonic::Jmp, Size::B32, vec![t(200)])
                },
            ),
            (
                far_jcc,
                Spec {
                    len: Some(6),
                    ..spec(jcc, Size::B32, vec![t(0)])
                },
            ),
            (
                far_jmp,
                Spec {
                    len: Some(5),
                    ..spec(Mnemonic::Jmp, Size::B32, vec![t(0)])
                },
            ),
            (
                fwd_jcc,
                Spec {
                    len: Some(6),
                    ..spec(jcc, Size::B32, vec![t(fwd_at)])
                },
            ),
            (
                fwd_jmp,
                Spec {
                    len: Some(5),
                    ..spec(Mnemonic::Jmp, Size::B32, vec![t(fwd_at)])
                },
            ),
            (
                call,
                Spec {
                    len: Some(5),
                    ..spec(Mnemonic::Call, Size::B32, vec![t(func_at)])
                },
            ),
            (
                back_call,
                Spec {
                    len: Some(5),
                    ..spec(Mnemonic::Call, Size::B32, vec![t(200)])
                },
            ),
        ];
        let decoded = decode_all(&code);
        for (at, s) in &expect {
            let (_, instr) = decoded
                .iter()
                .find(|(o, _)| o == at)
                .expect("instruction boundary");
            check_at(&code[*at..*at + instr.len()], *at as u64, s, &|| {
                format!("branch at {at:#x} ({cond:?})")
            });
        }
        // The RIP-relative leas point at their labels.
        for (at, reg, target) in [(lea, Reg::R12, fwd_at), (back_lea, Reg::Rax, 0)] {
            let (_, instr) = decoded.iter().find(|(o, _)| *o == at).unwrap();
            assert_eq!(instr.mnemonic(), Mnemonic::Lea);
            assert_eq!(instr.op_register(0), iced_reg(reg, Size::B64));
            assert!(instr.is_ip_rel_memory_operand());
            assert_eq!(
                instr.ip_rel_memory_address(),
                target as u64,
                "lea at {at:#x}"
            );
            assert_eq!(instr.len(), 7);
            count(1);
        }
    }
    done("labels_forward_and_backward");
}

#[test]
fn short_jump_reach_boundaries() {
    // A backward jump reaches -128 with rel8; one byte further needs rel32.
    for (pad, len) in [(126, 2), (127, 5)] {
        let mut asm = Assembler::new();
        let top = asm.bound_label();
        asm.nops(pad);
        asm.jmp(top);
        let code = asm.finalize().unwrap();
        assert_eq!(code.len(), pad + len, "jmp back over {pad} bytes");
        let (_, instr) = decode_all(&code).pop().unwrap();
        assert_eq!(instr.flow_control(), FlowControl::UnconditionalBranch);
        assert_eq!(instr.near_branch64(), 0);
    }
}

#[test]
fn unbound_label_is_an_error() {
    let mut asm = Assembler::new();
    let (a, b) = (asm.label(), asm.label());
    asm.nop();
    asm.jmp(a);
    asm.bind(a);
    asm.jcc(Cond::E, b);
    assert_eq!(
        asm.finalize().unwrap_err(),
        EncodeError::UnboundLabel {
            label: 1,
            used_at: 8
        }
    );
    let message = EncodeError::UnboundLabel {
        label: 1,
        used_at: 8,
    }
    .to_string();
    assert!(
        message.contains("label 1") && message.contains("0x8"),
        "{message}"
    );
}

#[test]
#[should_panic(expected = "bound twice")]
fn binding_twice_panics() {
    let mut asm = Assembler::new();
    let label = asm.bound_label();
    asm.bind(label);
}

#[test]
fn resolve_and_clear_reuse_the_buffers() {
    let mut asm = Assembler::with_capacity(64);
    for round in 0..3 {
        asm.clear();
        let end = asm.label();
        asm.jmp(end);
        asm.nops(round);
        asm.bind(end);
        asm.ret();
        let code = asm.resolve().unwrap().to_vec();
        assert_eq!(code[..5], [0xE9, round as u8, 0, 0, 0]);
    }
}

/// A long stream of mixed instructions decodes back to the same instruction boundaries.
#[test]
fn mixed_stream_boundaries() {
    let mut asm = Assembler::new();
    let mut starts = Vec::new();
    let mut labels = Vec::new();
    for i in 0..3000usize {
        starts.push(asm.offset());
        let r = Reg::ALL[i % 16];
        let s = Reg::ALL[(i * 7 + 3) % 16];
        let size = Size::ALL[i % 4];
        let mem = Mem::indexed(
            Reg::ALL[(i * 5) % 16],
            non_rsp(Reg::ALL[(i * 3 + 1) % 16]),
            Scale::ALL[i % 4],
            DISPS[i % 9],
        );
        match i % 12 {
            0 => asm.alu_rr(AluOp::ALL[i % 8], size, r, s),
            1 => asm.alu_ri(AluOp::ALL[i % 8], size, r, IMMS[i % 13]),
            2 => asm.mov_rm(size, r, mem),
            3 => asm.mov_mr(size, mem, s),
            4 => asm.mov_ri(Size::B64, r, (i as i64).wrapping_mul(0x1_2345_6789)),
            5 => asm.shift_ri(ShiftOp::ALL[i % 7], size, r, (i % 64) as u8),
            6 => asm.lea(Size::B64, r, mem),
            7 => asm.movsx_rm(Size::B64, Size::ALL[i % 3], r, mem),
            8 => asm.cmov_rr(Cond::ALL[i % 16], Size::B64, r, s),
            9 => {
                let label = asm.label();
                asm.jcc(Cond::ALL[i % 16], label);
                labels.push(label);
            }
            10 => asm.mov_mi(size, mem, IMMS[i % 13]),
            _ => {
                if let Some(label) = labels.pop() {
                    asm.bind(label);
                }
                asm.setcc(Cond::ALL[i % 16], r);
            }
        }
    }
    let end = asm.offset();
    for label in labels {
        asm.bind(label);
    }
    let code = asm.finalize().unwrap();
    let decoded: Vec<usize> = decode_all(&code).into_iter().map(|(o, _)| o).collect();
    assert_eq!(decoded, starts);
    assert_eq!(code.len(), end);
    count(starts.len());
    done("mixed_stream_boundaries");
}

/// `reg`, or `r12` in place of `rsp` (which cannot be an index).
fn non_rsp(reg: Reg) -> Reg {
    if reg == Reg::Rsp {
        Reg::R12
    } else {
        reg
    }
}

/// Known encodings, byte for byte (as printed by GNU as / the Intel manual).
#[test]
fn golden_bytes() {
    type Case = (fn(&mut Assembler), &'static [u8]);
    let cases: Vec<Case> = vec![
        (
            |a| a.mov_rm(Size::B64, Reg::Rax, Mem::base(Reg::Rsp)),
            &[0x48, 0x8B, 0x04, 0x24],
        ),
        (
            |a| a.mov_rm(Size::B64, Reg::Rax, Mem::base(Reg::Rbp)),
            &[0x48, 0x8B, 0x45, 0x00],
        ),
        (
            |a| a.mov_rm(Size::B32, Reg::R8, Mem::base(Reg::R13)),
            &[0x45, 0x8B, 0x45, 0x00],
        ),
        (
            |a| a.mov_rm(Size::B32, Reg::Rax, Mem::base(Reg::R12)),
            &[0x41, 0x8B, 0x04, 0x24],
        ),
        (
            |a| {
                a.mov_mr(
                    Size::B8,
                    Mem::indexed(Reg::Rdi, Reg::R12, Scale::S8, 0x10),
                    Reg::Rsi,
                )
            },
            &[0x42, 0x88, 0x74, 0xE7, 0x10],
        ),
        (
            |a| a.add_rr(Size::B64, Reg::Rax, Reg::Rcx),
            &[0x48, 0x01, 0xC8],
        ),
        (
            |a| a.add_ri(Size::B32, Reg::Rax, 0x1000),
            &[0x05, 0x00, 0x10, 0x00, 0x00],
        ),
        (
            |a| a.sub_ri(Size::B64, Reg::Rsp, 8),
            &[0x48, 0x83, 0xEC, 0x08],
        ),
        (|a| a.mov_ri(Size::B64, Reg::Rax, 0), &[0xB8, 0, 0, 0, 0]),
        (
            |a| a.mov_ri(Size::B64, Reg::R10, -1),
            &[0x49, 0xC7, 0xC2, 0xFF, 0xFF, 0xFF, 0xFF],
        ),
        (
            |a| a.mov_ri(Size::B64, Reg::Rcx, 0x1_0000_0000),
            &[0x48, 0xB9, 0, 0, 0, 0, 1, 0, 0, 0],
        ),
        (
            |a| a.movzx_rr(Size::B8, Reg::Rax, Reg::Rsi),
            &[0x40, 0x0F, 0xB6, 0xC6],
        ),
        (
            |a| a.movsx_rr(Size::B64, Size::B32, Reg::Rax, Reg::Rcx),
            &[0x48, 0x63, 0xC1],
        ),
        (|a| a.setcc(Cond::E, Reg::Rdi), &[0x40, 0x0F, 0x94, 0xC7]),
        (|a| a.setcc(Cond::E, Reg::Rbx), &[0x0F, 0x94, 0xC3]),
        (
            |a| a.lzcnt(Size::B64, Reg::Rax, Reg::R9),
            &[0xF3, 0x49, 0x0F, 0xBD, 0xC1],
        ),
        (|a| a.bswap(Size::B64, Reg::R8), &[0x49, 0x0F, 0xC8]),
        (|a| a.shl_ri(Size::B32, Reg::Rax, 1), &[0xD1, 0xE0]),
        (|a| a.sar_cl(Size::B64, Reg::Rdx), &[0x48, 0xD3, 0xFA]),
        (|a| a.push(Reg::R15), &[0x41, 0x57]),
        (|a| a.jmp_reg(Reg::R11), &[0x41, 0xFF, 0xE3]),
        (|a| a.cqo(), &[0x48, 0x99]),
        (|a| a.xchg_rr(Size::B32, Reg::Rax, Reg::Rax), &[0x87, 0xC0]),
        (
            |a| a.mov_mi(Size::B16, Mem::base(Reg::Rax), -1),
            &[0x66, 0xC7, 0x00, 0xFF, 0xFF],
        ),
        (
            |a| a.alu_ri(AluOp::Cmp, Size::B8, Reg::Rax, 5),
            &[0x3C, 0x05],
        ),
        (
            |a| a.test_ri(Size::B8, Reg::Rsi, 1),
            &[0x40, 0xF6, 0xC6, 0x01],
        ),
    ];
    for (i, (emit, want)) in cases.into_iter().enumerate() {
        let mut asm = Assembler::new();
        emit(&mut asm);
        assert_eq!(
            asm.code(),
            want,
            "case {i}: got {}, want {}",
            hex(asm.code()),
            hex(want)
        );
    }
}

// ---- speed ---------------------------------------------------------------------------------

/// `cargo test --release -p pvm-core --features std --test x64_encoder -- --ignored --nocapture encode_speed`
#[test]
#[ignore = "a benchmark; run in release mode"]
fn encode_speed() {
    use std::hint::black_box;
    use std::time::Instant;
    const N: usize = 1_000_000;
    let mut asm = Assembler::with_capacity(N * 8);
    let mut best = f64::INFINITY;
    let mut bytes = 0;
    for _ in 0..5 {
        asm.clear();
        let start = Instant::now();
        let mut label = asm.label();
        for i in 0..N / 10 {
            let r = Reg::ALL[i & 15];
            let s = Reg::ALL[(i >> 4) & 15];
            let mem = Mem::base_disp(s, (i as i32) << 3);
            asm.add_rr(Size::B64, r, s);
            asm.mov_rm(Size::B64, r, mem);
            asm.sub_ri(Size::B32, r, i as i32);
            asm.mov_mr(Size::B32, mem, r);
            asm.mov_ri(Size::B64, r, i as i64 * 0x1_0001);
            asm.shl_ri(Size::B64, r, 3);
            asm.cmp_rr(Size::B64, r, s);
            asm.movzx_rm(Size::B8, r, mem);
            asm.lea(Size::B64, r, Mem::indexed(s, Reg::Rcx, Scale::S8, 16));
            if i % 4 == 3 {
                asm.bind(label);
                label = asm.label();
                asm.jcc(Cond::Ne, label);
            } else {
                asm.jcc(Cond::L, label);
            }
        }
        asm.bind(label);
        let code = asm.resolve().unwrap();
        bytes = black_box(code).len();
        best = best.min(start.elapsed().as_secs_f64());
    }
    println!(
        "encoded {N} instructions ({bytes} bytes) in {:.2} ms: {:.2} ns/instruction (best of 5)",
        best * 1e3,
        best * 1e9 / N as f64
    );
}

/// The same instruction mix as [`encode_speed`] through iced-x86's `CodeAssembler`, for the
/// encoder choice: `cargo test --release -p pvm-core --features std --test x64_encoder --
/// --ignored --nocapture encode_speed`.
#[test]
#[ignore = "a benchmark; run in release mode"]
fn encode_speed_iced() {
    use iced_x86::code_asm::*;
    use std::hint::black_box;
    use std::time::Instant;
    const N: usize = 1_000_000;
    let regs = [
        rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi, r8, r9, r10, r11, r12, r13, r14, r15,
    ];
    let regs32 = [
        eax, ecx, edx, ebx, esp, ebp, esi, edi, r8d, r9d, r10d, r11d, r12d, r13d, r14d, r15d,
    ];
    let mut best = f64::INFINITY;
    let mut bytes = 0;
    for _ in 0..5 {
        let start = Instant::now();
        let mut a = CodeAssembler::new(64).unwrap();
        let mut label = a.create_label();
        for i in 0..N / 10 {
            let (r, s) = (regs[i & 15], regs[(i >> 4) & 15]);
            let r32 = regs32[i & 15];
            let disp = ((i as i32) << 3) as i64;
            a.add(r, s).unwrap();
            a.mov(r, qword_ptr(s + disp)).unwrap();
            a.sub(r32, i as i32).unwrap();
            a.mov(dword_ptr(s + disp), r32).unwrap();
            a.mov(r, i as i64 * 0x1_0001).unwrap();
            a.shl(r, 3).unwrap();
            a.cmp(r, s).unwrap();
            a.movzx(r32, byte_ptr(s + disp)).unwrap();
            a.lea(r, qword_ptr(s + rcx * 8 + 16)).unwrap();
            if i % 4 == 3 {
                a.set_label(&mut label).unwrap();
                a.nop().unwrap();
                label = a.create_label();
                a.jne(label).unwrap();
            } else {
                a.jl(label).unwrap();
            }
        }
        a.set_label(&mut label).unwrap();
        a.nop().unwrap();
        let code = a.assemble(0x1000).unwrap();
        bytes = black_box(code).len();
        best = best.min(start.elapsed().as_secs_f64());
    }
    println!(
        "iced-x86 encoded {N} instructions ({bytes} bytes) in {:.2} ms: {:.2} ns/instruction (best of 5)",
        best * 1e3,
        best * 1e9 / N as f64
    );
}

/// The guest-memory forms: `gs:[reg32 + disp]` and `gs:[abs32]`, with the `0x67`
/// address-size prefix, for loads, sign/zero-extending loads, stores and immediate stores.
#[test]
fn gs_relative_32_bit_addresses() {
    let reg32 = |r: Reg| iced_reg(r, Size::B32);
    let mut mems: Vec<(Mem, Register, u32)> = Vec::new();
    for base in Reg::ALL {
        for disp in DISPS {
            mems.push((Mem::gs32(base, disp), reg32(base), disp as u32));
        }
    }
    for address in [0u32, 0x10000, 0x7fff_ffff, 0x8000_0000, 0xffff_fff0] {
        mems.push((Mem::gs32_abs(address), Register::None, address));
    }
    let mut checked = 0;
    for (mem, base, disp) in mems {
        for size in SIZES {
            for reg in Reg::ALL {
                let encodings: Vec<(Assembler, Mnemonic)> = {
                    let mut v = Vec::new();
                    let mut a = Assembler::new();
                    a.mov_rm(size, reg, mem);
                    v.push((a, Mnemonic::Mov));
                    let mut a = Assembler::new();
                    a.mov_mr(size, mem, reg);
                    v.push((a, Mnemonic::Mov));
                    if matches!(size, Size::B8 | Size::B16) {
                        let mut a = Assembler::new();
                        a.movzx_rm(size, reg, mem);
                        v.push((a, Mnemonic::Movzx));
                    }
                    if size != Size::B64 {
                        let mut a = Assembler::new();
                        a.movsx_rm(Size::B64, size, reg, mem);
                        v.push((
                            a,
                            if size == Size::B32 {
                                Mnemonic::Movsxd
                            } else {
                                Mnemonic::Movsx
                            },
                        ));
                    }
                    let mut a = Assembler::new();
                    a.mov_mi(size, mem, -2);
                    v.push((a, Mnemonic::Mov));
                    v
                };
                for (asm, mnemonic) in encodings {
                    let bytes = asm.code().to_vec();
                    let mut decoder = Decoder::with_ip(64, &bytes, 0, DecoderOptions::NONE);
                    let insn = decoder.decode();
                    let what = || format!("{mem:?} {size:?} {reg:?}: {}", hex(&bytes));
                    assert_eq!(insn.len(), bytes.len(), "{}", what());
                    assert_eq!(insn.mnemonic(), mnemonic, "{}", what());
                    assert_eq!(insn.segment_prefix(), Register::GS, "{}", what());
                    assert_eq!(insn.memory_base(), base, "{}", what());
                    assert_eq!(insn.memory_index(), Register::None, "{}", what());
                    assert_eq!(insn.memory_displacement32(), disp, "{}", what());
                    assert_eq!(insn.memory_size().size() as u32, size.bytes(), "{}", what());
                    checked += 1;
                }
            }
        }
    }
    count(checked);
    done("gs_relative_32_bit_addresses");
}

/// The context forms: `gs:[disp32]` and `gs:[index * scale + disp32]` with 64-bit address
/// arithmetic (no `0x67`), so a negative displacement reaches below the `gs` base, for
/// loads, stores, read-modify-writes and immediate stores.
#[test]
fn gs_relative_context_addresses() {
    /// An operand, its index register and scale factor, if any, and its displacement.
    type Case = (Mem, Option<(Reg, u32)>, i32);
    const CONTEXT_DISPS: [i32; 6] = [-8, -16, -128, -129, -0x4000, 0x10];
    let mut mems: Vec<Case> = Vec::new();
    for disp in CONTEXT_DISPS {
        mems.push((Mem::gs(disp), None, disp));
        for index in Reg::ALL.into_iter().filter(|&r| r != Reg::Rsp) {
            for (scale, factor) in [(Scale::S1, 1), (Scale::S8, 8)] {
                mems.push((
                    Mem::gs_indexed(index, scale, disp),
                    Some((index, factor)),
                    disp,
                ));
            }
        }
    }
    let mut checked = 0;
    for (mem, index, disp) in mems {
        for reg in Reg::ALL {
            let encodings: Vec<(Assembler, Mnemonic)> = {
                let mut v = Vec::new();
                let mut a = Assembler::new();
                a.mov_rm(Size::B64, reg, mem);
                v.push((a, Mnemonic::Mov));
                let mut a = Assembler::new();
                a.mov_mr(Size::B64, mem, reg);
                v.push((a, Mnemonic::Mov));
                let mut a = Assembler::new();
                a.sub_mr(Size::B64, mem, reg);
                v.push((a, Mnemonic::Sub));
                let mut a = Assembler::new();
                a.mov_mi(Size::B32, mem, -2);
                v.push((a, Mnemonic::Mov));
                v
            };
            for (asm, mnemonic) in encodings {
                let bytes = asm.code().to_vec();
                let mut decoder = Decoder::with_ip(64, &bytes, 0, DecoderOptions::NONE);
                let insn = decoder.decode();
                let what = || format!("{mem:?} {reg:?}: {}", hex(&bytes));
                assert_eq!(insn.len(), bytes.len(), "{}", what());
                assert_eq!(insn.mnemonic(), mnemonic, "{}", what());
                assert_eq!(insn.segment_prefix(), Register::GS, "{}", what());
                assert_eq!(insn.memory_base(), Register::None, "{}", what());
                match index {
                    None => assert_eq!(insn.memory_index(), Register::None, "{}", what()),
                    Some((index, factor)) => {
                        assert_eq!(
                            insn.memory_index(),
                            iced_reg(index, Size::B64),
                            "{}",
                            what()
                        );
                        assert_eq!(insn.memory_index_scale(), factor, "{}", what());
                    }
                }
                // Sign-extended: 64-bit address arithmetic.
                assert_eq!(
                    insn.memory_displacement64(),
                    i64::from(disp) as u64,
                    "{}",
                    what()
                );
                checked += 1;
            }
        }
    }
    count(checked);
    done("gs_relative_context_addresses");
}
