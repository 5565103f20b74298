use crate::isa::decode_code;
use crate::program::ProgramBlob;
use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use core::fmt::Write;

/// Renders a program as assembler text: exports and basic-block starts become labels,
/// each instruction is prefixed with its program counter, and invalid bytes show as
/// `invalid`.
pub fn disassemble(blob: &ProgramBlob) -> String {
    let stream = decode_code(blob.isa, &blob.code.code, &blob.code.bitmask);
    let mut exports: BTreeMap<u32, alloc::vec::Vec<&str>> = BTreeMap::new();
    for export in &blob.exports {
        exports.entry(export.pc).or_default().push(&export.symbol);
    }
    let mut out = String::new();
    let _ = writeln!(out, ".isa {}", blob.isa);
    let _ = writeln!(out, ".ro_data_size {}", blob.ro_data_size);
    let _ = writeln!(out, ".rw_data_size {}", blob.rw_data_size);
    let _ = writeln!(out, ".stack_size {}", blob.stack_size);
    for import in &blob.imports {
        let _ = writeln!(out, ".import {import:?}");
    }
    if blob.code.jump_table_len > 0 {
        let entries: alloc::vec::Vec<String> = (0..blob.code.jump_table_len.min(64))
            .map(|i| format!("{}", blob.code.jump_table_entry(i).unwrap_or(0)))
            .collect();
        let more = if blob.code.jump_table_len > 64 {
            ", ..."
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "; jump table ({} entries): {}{more}",
            blob.code.jump_table_len,
            entries.join(", ")
        );
    }
    for (index, decoded) in stream.instructions.iter().enumerate() {
        if let Some(names) = exports.get(&decoded.pc) {
            for name in names {
                let _ = writeln!(out, "pub @{name}:");
            }
        } else if stream.block_starts[index] {
            let _ = writeln!(out, "@{}:", decoded.pc);
        }
        match (&decoded.instruction, decoded.length) {
            (Some(instruction), _) => {
                let _ = writeln!(out, "    {:>6}: {instruction}", decoded.pc);
            }
            (None, 0) => {
                let _ = writeln!(
                    out,
                    "    {:>6}: trap ; implicit, past the end of the code",
                    decoded.pc
                );
            }
            (None, length) => {
                let _ = writeln!(out, "    {:>6}: invalid ; {length} bytes", decoded.pc);
            }
        }
    }
    out
}
