//! pvm-core's opcode table and decoder against polkavm-common 0.37's, for ReviveV1, JamV1 and
//! Latest64 (pvm-core's Graypaper numbering has no polkavm counterpart).
//!
//! * Every raw opcode value maps to the same instruction (by name) in both, and in Latest64
//!   to the same instruction length.
//! * Every instruction has the same basic-block behaviour, the same support per instruction
//!   set, and (Latest64) the same choice of encoding per argument length.
//! * Decoding code bytes gives the same instructions (pc, length, opcode and operands): for
//!   every raw opcode with every argument length, and for random code and bitmasks (proptest,
//!   so a failure shrinks to a minimal input).

use polkavm::program::{
    ISA_JamV1, ISA_Latest64, ISA_ReviveV1, InstructionSet as PolkaIsa, Opcode as PolkaOpcode,
};
use proptest::prelude::*;
use pvm_core::isa::{decode_code, Args, InstructionSet, Opcode};
use pvm_core::program::{CodeSection, ProgramBlob};

/// The instruction sets polkavm and pvm-core share.
const SHARED: [InstructionSet; 3] = [
    InstructionSet::ReviveV1,
    InstructionSet::JamV1,
    InstructionSet::Latest64,
];

fn polkavm_opcode_from_raw(isa: InstructionSet, raw: u32) -> Option<PolkaOpcode> {
    match isa {
        InstructionSet::ReviveV1 => ISA_ReviveV1.opcode_from_raw(raw),
        InstructionSet::JamV1 => ISA_JamV1.opcode_from_raw(raw),
        InstructionSet::Latest64 => ISA_Latest64.opcode_from_raw(raw),
        InstructionSet::Graypaper => unreachable!("not a polkavm instruction set"),
    }
}

fn polkavm_supports(isa: InstructionSet, opcode: PolkaOpcode) -> bool {
    match isa {
        InstructionSet::ReviveV1 => ISA_ReviveV1.supports_opcode(opcode),
        InstructionSet::JamV1 => ISA_JamV1.supports_opcode(opcode),
        InstructionSet::Latest64 => ISA_Latest64.supports_opcode(opcode),
        InstructionSet::Graypaper => unreachable!("not a polkavm instruction set"),
    }
}

fn ours_by_name(opcode: PolkaOpcode) -> Opcode {
    Opcode::from_name(opcode.name())
        .unwrap_or_else(|| panic!("pvm-core has no instruction named {}", opcode.name()))
}

#[test]
fn both_know_the_same_instructions() {
    let theirs: Vec<&str> = PolkaOpcode::ALL.iter().map(|op| op.name()).collect();
    let ours: Vec<&str> = Opcode::ALL.iter().map(|op| op.name()).collect();
    for name in &theirs {
        assert!(ours.contains(name), "pvm-core lacks {name}");
    }
    for name in &ours {
        assert!(theirs.contains(name), "polkavm lacks {name}");
    }
}

#[test]
fn one_byte_opcodes_match() {
    for isa in [InstructionSet::ReviveV1, InstructionSet::JamV1] {
        for raw in 0..=255u8 {
            let theirs = polkavm_opcode_from_raw(isa, u32::from(raw)).map(|op| op.name());
            let ours = isa.opcode_from_byte(raw).map(|op| op.name());
            assert_eq!(ours, theirs, "{isa}: raw opcode {raw}");
        }
    }
}

#[test]
fn latest64_opcodes_and_lengths_match() {
    // Raw Latest64 opcodes are 0..=254 in one byte and 255 + (0..=255) after the prefix byte.
    for raw in 0..=510u16 {
        let theirs = ISA_Latest64
            .opcode_from_raw(u32::from(raw))
            .map(|op| op.name());
        let ours = InstructionSet::extended_opcode(raw);
        assert_eq!(
            ours.map(|(op, _)| op.name()),
            theirs,
            "latest64: raw opcode {raw}"
        );

        // polkavm's length table (hidden but public) holds opcode plus argument bytes; an
        // unassigned opcode is just its opcode bytes, which is also how pvm-core skips it.
        let their_length = ISA_Latest64::RAW_OPCODE_TO_LENGTH_CONST[usize::from(raw)].get();
        let opcode_bytes = if raw >= 255 { 2 } else { 1 };
        let our_length = opcode_bytes + ours.map_or(0, |(_, args)| u32::from(args));
        assert_eq!(
            our_length, their_length,
            "latest64: length of raw opcode {raw} ({theirs:?})"
        );
    }
}

#[test]
fn latest64_encodings_are_chosen_alike() {
    // For every instruction and needed argument length, the shortest encoding that fits.
    for &opcode in PolkaOpcode::ALL {
        let ours = ours_by_name(opcode);
        for needed in 0..=10u32 {
            let theirs = ISA_Latest64.opcode_to_raw(opcode, needed);
            let mine = ours
                .info()
                .latest64
                .iter()
                .find(|(length, _)| u32::from(*length) >= needed)
                .map(|&(length, raw)| (u32::from(raw), u32::from(length)));
            assert_eq!(
                mine,
                theirs,
                "latest64: {} with {needed} argument bytes",
                opcode.name()
            );
        }
    }
}

#[test]
fn support_and_basic_block_behaviour_match() {
    for &opcode in PolkaOpcode::ALL {
        let ours = ours_by_name(opcode);
        for isa in SHARED {
            assert_eq!(
                isa.supports(ours),
                polkavm_supports(isa, opcode),
                "{isa} support of {}",
                opcode.name()
            );
        }
        assert_eq!(
            ours.flow().ends_block(),
            opcode.starts_new_basic_block(),
            "whether {} ends a basic block",
            opcode.name()
        );
        assert_eq!(
            ours.flow().can_fall_through(),
            opcode.can_fallthrough(),
            "whether {} can fall through",
            opcode.name()
        );
    }
}

/// A decoded instruction in a form both decoders map to: `(pc, next pc, text)`, where text is
/// the name and the operands (register names, numbers as signed decimals, targets as
/// absolute code offsets). The implicit trap after code that can fall through is `(len, len,
/// "implicit trap")`.
type Decoded = (u32, u32, String);

fn decode_ours(isa: InstructionSet, code: &[u8], bitmask: &[u8]) -> Vec<Decoded> {
    let stream = decode_code(isa, code, bitmask);
    stream
        .instructions
        .iter()
        .map(|d| {
            let text = match (d.instruction, d.length) {
                (None, 0) => "implicit trap".to_string(),
                (None, _) => "invalid".to_string(),
                (Some(i), _) => {
                    let imm = |x: u32| i128::from(x as i32).to_string();
                    let target = |t: u32| t.to_string();
                    let operands: Vec<String> = match i.args {
                        Args::None => vec![],
                        Args::Imm(x) => vec![imm(x)],
                        Args::Offset(t) => vec![target(t)],
                        Args::ImmImm(x, y) => vec![imm(x), imm(y)],
                        Args::RegImm(r, x) => vec![r.to_string(), imm(x)],
                        Args::RegImm64(r, x) => vec![r.to_string(), x.to_string()],
                        Args::RegImmOffset(r, x, t) => vec![r.to_string(), imm(x), target(t)],
                        Args::RegImmImm(r, x, y) => vec![r.to_string(), imm(x), imm(y)],
                        Args::RegRegImm(a, b, x) => vec![a.to_string(), b.to_string(), imm(x)],
                        Args::RegRegOffset(a, b, t) => {
                            vec![a.to_string(), b.to_string(), target(t)]
                        }
                        Args::RegRegReg(d, a, b) => {
                            vec![d.to_string(), a.to_string(), b.to_string()]
                        }
                        Args::RegReg(a, b) => vec![a.to_string(), b.to_string()],
                        Args::RegRegImmImm(a, b, x, y) => {
                            vec![a.to_string(), b.to_string(), imm(x), imm(y)]
                        }
                    };
                    format!("{} {}", i.opcode.name(), operands.join(", "))
                }
            };
            (d.pc, d.pc + d.length, text.trim_end().to_string())
        })
        .collect()
}

/// polkavm's `Instruction` Debug output, e.g. `add_64(a0 (0x7), a1 (0x8), sp (0x1))` or
/// `branch_eq_imm(a0 (0x7), -1, 12)`, rewritten as `add_64 a0, a1, sp`.
fn normalize_polkavm(debug: &str) -> String {
    let Some((name, rest)) = debug.split_once('(') else {
        return debug.to_string();
    };
    let inner = rest.strip_suffix(')').expect("balanced");
    let operands: Vec<String> = inner
        .split(", ")
        .map(|operand| match operand.split_once(" (0x") {
            Some((reg, _)) => reg.to_string(),
            None => operand.parse::<i128>().expect("a number").to_string(),
        })
        .collect();
    format!("{name} {}", operands.join(", "))
}

fn decode_polkavm(
    isa: InstructionSet,
    code: &[u8],
    bitmask: &[u8],
) -> Result<Vec<Decoded>, String> {
    let blob = ProgramBlob {
        isa,
        ro_data_size: 0,
        rw_data_size: 0,
        stack_size: 0,
        ro_data: vec![],
        rw_data: vec![],
        imports: vec![],
        exports: vec![],
        code: CodeSection::new(vec![], code.to_vec(), bitmask.to_vec()),
    };
    let bytes = blob.to_bytes().expect("a container instruction set");
    let blob = polkavm::ProgramBlob::parse(bytes.into()).map_err(|e| e.to_string())?;
    let code_length = code.len() as u32;
    Ok(blob
        .instructions()
        .map(|i| {
            let (pc, next) = (i.offset.0, i.next_offset.0);
            if pc == code_length {
                // The trap polkavm's decoder injects after code that can fall through.
                return (pc, pc, "implicit trap".to_string());
            }
            (pc, next, normalize_polkavm(&format!("{:?}", i.kind)))
        })
        .collect())
}

/// Decodes with both; on a difference, names the first differing instruction.
fn compare_decoding(isa: InstructionSet, code: &[u8], bitmask: &[u8]) -> Result<(), String> {
    let mut ours = decode_ours(isa, code, bitmask);
    let mut theirs = decode_polkavm(isa, code, bitmask)?;
    if isa == InstructionSet::Latest64 {
        // polkavm's iterator stops at the end of Latest64 code; pvm-core lists the implicit
        // trap after a final `fallthrough` or branch (both then trap there when running).
        ours.retain(|(_, _, text)| text != "implicit trap");
        theirs.retain(|(_, _, text)| text != "implicit trap");
    }
    // polkavm's slow-path bitmask scan (`parse_bitmask_slow`, used within 32 bytes of the
    // end of the code) stops after exactly 24 zero bits without looking at the 25th, so an
    // instruction whose skip is exactly 24 is followed by a zero-length invalid instruction
    // there, while its fast path (`parse_bitmask_fast`) sees the next start. pvm-core decodes
    // both cases the way the fast path and the Graypaper do. polkavm-linker never writes
    // such gaps; the zero-length entries are left out of the comparison.
    let code_length = code.len() as u32;
    theirs.retain(|(pc, next, text)| !(pc == next && *pc < code_length && text == "invalid"));
    if ours == theirs {
        return Ok(());
    }
    let index = ours
        .iter()
        .zip(&theirs)
        .position(|(a, b)| a != b)
        .unwrap_or(ours.len().min(theirs.len()));
    Err(format!(
        "{isa} code {} bitmask {}:\n  first difference at instruction {index}:\n  pvm-core: {:?}\n  polkavm:  {:?}\n  \
         pvm-core all: {ours:?}\n  polkavm all:  {theirs:?}",
        hex(code),
        hex(bitmask),
        ours.get(index),
        theirs.get(index),
    ))
}

fn hex(bytes: &[u8]) -> String {
    pvm_tests::differential::hex(bytes)
}

/// A bitmask with bits at `starts` (offsets below `length`).
fn bitmask_with(length: usize, starts: &[usize]) -> Vec<u8> {
    let mut bitmask = vec![0u8; length.div_ceil(8)];
    for &start in starts {
        bitmask[start / 8] |= 1 << (start % 8);
    }
    bitmask
}

#[test]
fn every_raw_opcode_with_every_argument_length_decodes_alike() {
    let mut rng = pvm_tests::rng::Rng::new(0x0dec0de);
    let mut checked = 0;
    let mut failures = Vec::new();
    for isa in [InstructionSet::ReviveV1, InstructionSet::JamV1] {
        for raw in 0..=255u8 {
            // One instruction with 0..=24 argument bytes (the bitmask's longest skip) and one
            // past that, followed by a `trap` so nothing is implicit.
            for skip in 0..=26usize {
                for _ in 0..4 {
                    let mut code = vec![raw];
                    code.extend(rng.bytes(skip));
                    code.push(0);
                    let bitmask = bitmask_with(code.len(), &[0, skip + 1]);
                    checked += 1;
                    if let Err(e) = compare_decoding(isa, &code, &bitmask) {
                        failures.push(e);
                    }
                }
            }
        }
    }
    for raw in 0..=510u16 {
        for _ in 0..8 {
            let mut code = if raw >= 255 {
                vec![255, (raw - 255) as u8]
            } else {
                vec![raw as u8]
            };
            code.extend(rng.bytes(12));
            checked += 1;
            if let Err(e) = compare_decoding(InstructionSet::Latest64, &code, &[]) {
                failures.push(e);
            }
        }
    }
    assert!(checked > 25_000);
    assert!(
        failures.is_empty(),
        "{} of {checked} decodings differ; the first ones:\n{}",
        failures.len(),
        failures
            .iter()
            .take(5)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n\n")
    );
}

/// Random code for `isa` and (for bitmask instruction sets) a bitmask with bit 0 set (see
/// `a_bitmask_without_bit_0_decodes_alike`), zero padding, and a density picked per case so
/// both long skips and back-to-back instruction starts occur. (Plain byte vectors: proptest's
/// combinators are slow in debug builds.)
fn arbitrary_code(isa: InstructionSet) -> impl Strategy<Value = (Vec<u8>, Vec<u8>)> {
    let bytes = proptest::collection::vec(any::<u8>(), 0..80);
    let bits = proptest::collection::vec(any::<u8>(), 12);
    (bytes, bits).prop_map(move |(code, bits)| {
        if !isa.has_bitmask() {
            return (code, vec![]);
        }
        let density = bits[0] % 4;
        let mut bitmask: Vec<u8> = (0..code.len().div_ceil(8))
            .map(|index| {
                let (a, b) = (
                    bits[1 + index % 11],
                    bits[1 + (index * 7 + 3) % 11].rotate_left(index as u32),
                );
                match density {
                    0 => a ^ b,
                    1 => a & b,
                    2 => a | b,
                    _ => 0,
                }
            })
            .collect();
        if let Some(first) = bitmask.first_mut() {
            *first |= 1;
        }
        let padding = bitmask.len() * 8 - code.len();
        if padding > 0 {
            let last = bitmask.last_mut().expect("non-empty");
            *last &= 0xff >> padding;
        }
        (code, bitmask)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn random_revive_v1_code_decodes_alike((code, bitmask) in arbitrary_code(InstructionSet::ReviveV1)) {
        compare_decoding(InstructionSet::ReviveV1, &code, &bitmask).map_err(TestCaseError::fail)?;
    }

    #[test]
    fn random_jam_v1_code_decodes_alike((code, bitmask) in arbitrary_code(InstructionSet::JamV1)) {
        compare_decoding(InstructionSet::JamV1, &code, &bitmask).map_err(TestCaseError::fail)?;
    }

    #[test]
    fn random_latest64_code_decodes_alike((code, _) in arbitrary_code(InstructionSet::Latest64)) {
        compare_decoding(InstructionSet::Latest64, &code, &[]).map_err(TestCaseError::fail)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(100))]

    #[test]
    fn long_random_latest64_code_decodes_alike(code in proptest::collection::vec(any::<u8>(), 1000..2600)) {
        // Crosses 1024-byte macro-block boundaries.
        compare_decoding(InstructionSet::Latest64, &code, &[]).map_err(TestCaseError::fail)?;
    }
}

#[test]
fn both_decoders_read_an_assembled_program_the_same_way() {
    // Guards the comparison itself: a known program decodes to known text on both sides.
    for isa in SHARED {
        let source = format!(
            ".isa {isa}\npub @main:\n add_64 a0, a1, sp\n branch_eq_imm a0, -1, @end\n load_imm64 t0, 0x123456789\n \
             store_imm_indirect_u32 a2, -8, 7\n@end:\n jump_indirect ra, 0\n"
        );
        let blob = pvm_core::asm::assemble(&source).expect("assembles");
        let ours = decode_ours(isa, &blob.code.code, &blob.code.bitmask);
        let texts: Vec<&str> = ours.iter().map(|(_, _, text)| text.as_str()).collect();
        let end = ours[4].0;
        assert_eq!(
            texts,
            [
                "add_64 a0, a1, sp".to_string(),
                format!("branch_eq_imm a0, -1, {end}"),
                "load_imm64 t0, 4886718345".to_string(),
                "store_imm_indirect_u32 a2, -8, 7".to_string(),
                "jump_indirect ra, 0".to_string(),
            ],
            "{isa}"
        );
        compare_decoding(isa, &blob.code.code, &blob.code.bitmask).unwrap();
    }
}

/// Code whose bitmask does not mark offset 0: polkavm decodes an invalid instruction from 0 to
/// the first marked offset (and its interpreter traps when entered at 0), pvm-core decodes the
/// instruction at 0 anyway.
#[test]
fn a_bitmask_without_bit_0_decodes_alike() {
    for isa in [InstructionSet::ReviveV1, InstructionSet::JamV1] {
        // load_imm a0, 5 ; jump_indirect ra, 0 -- with only the second instruction marked.
        let blob = pvm_core::asm::assemble(&format!(
            ".isa {isa}\npub @main:\n load_imm a0, 5\n jump_indirect ra, 0\n"
        ))
        .expect("assembles");
        let mut bitmask = blob.code.bitmask.clone();
        bitmask[0] &= !1;
        compare_decoding(isa, &blob.code.code, &bitmask).unwrap();
    }
}
