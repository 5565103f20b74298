use crate::cast::{discriminant, usize_from_u16, usize_from_u8};
use core::fmt;

/// One of the 13 guest registers.
///
/// Register operands are 4-bit nibbles in the encoding; nibbles 13, 14 and 15 read as
/// [`Reg::A5`] (the Graypaper's `min(12, nibble)`).
#[derive(Copy, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
#[repr(u8)]
#[allow(missing_docs)]
pub enum Reg {
    RA = 0,
    SP = 1,
    T0 = 2,
    T1 = 3,
    T2 = 4,
    S0 = 5,
    S1 = 6,
    A0 = 7,
    A1 = 8,
    A2 = 9,
    A3 = 10,
    A4 = 11,
    A5 = 12,
}

impl Reg {
    /// All registers in encoding order.
    pub const ALL: [Reg; 13] = [
        Reg::RA,
        Reg::SP,
        Reg::T0,
        Reg::T1,
        Reg::T2,
        Reg::S0,
        Reg::S1,
        Reg::A0,
        Reg::A1,
        Reg::A2,
        Reg::A3,
        Reg::A4,
        Reg::A5,
    ];

    /// Registers that carry call arguments, in order (PolkaVM's calling convention).
    pub const ARG_REGS: [Reg; 9] = [
        Reg::A0,
        Reg::A1,
        Reg::A2,
        Reg::A3,
        Reg::A4,
        Reg::A5,
        Reg::T0,
        Reg::T1,
        Reg::T2,
    ];

    /// Decodes a 4-bit register nibble; 13..=15 read as A5.
    #[inline]
    pub const fn from_nibble(nibble: u8) -> Reg {
        // A match, not an index into `ALL`: the compiler folds it to a clamp of the
        // nibble, where the index was a load on the path from each operand byte to the
        // code emitted for it.
        match nibble & 0xf {
            0 => Reg::RA,
            1 => Reg::SP,
            2 => Reg::T0,
            3 => Reg::T1,
            4 => Reg::T2,
            5 => Reg::S0,
            6 => Reg::S1,
            7 => Reg::A0,
            8 => Reg::A1,
            9 => Reg::A2,
            10 => Reg::A3,
            11 => Reg::A4,
            _ => Reg::A5,
        }
    }

    /// The assembler name, e.g. `a0`.
    pub const fn name(self) -> &'static str {
        match self {
            Reg::RA => "ra",
            Reg::SP => "sp",
            Reg::T0 => "t0",
            Reg::T1 => "t1",
            Reg::T2 => "t2",
            Reg::S0 => "s0",
            Reg::S1 => "s1",
            Reg::A0 => "a0",
            Reg::A1 => "a1",
            Reg::A2 => "a2",
            Reg::A3 => "a3",
            Reg::A4 => "a4",
            Reg::A5 => "a5",
        }
    }

    /// Parses an assembler register name (`ra`, `sp`, `t0`..`t2`, `s0`, `s1`, `a0`..`a5`,
    /// or `r0`..`r12`).
    pub fn from_name(name: &str) -> Option<Reg> {
        if let Some(index) = name.strip_prefix('r').and_then(|n| n.parse::<usize>().ok()) {
            return Reg::ALL.get(index).copied();
        }
        Reg::ALL.iter().copied().find(|reg| reg.name() == name)
    }
}

discriminant!(
    /// The register's index (0..=12) in the register file.
    pub fn index(self) -> usize for Reg
);
discriminant!(
    /// The register's 4-bit operand encoding (its index).
    pub(crate) fn nibble(self) -> u8 for Reg
);

impl fmt::Display for Reg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The operand layout of an instruction.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
#[allow(missing_docs)]
pub enum Format {
    Argless,
    RegImm,
    RegImmOffset,
    RegImmImm,
    RegRegImm,
    RegRegOffset,
    RegRegReg,
    Offset,
    Imm,
    ImmImm,
    RegReg,
    RegRegImmImm,
    RegImm64,
}

/// How an instruction relates to basic blocks.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum Flow {
    /// Execution continues with the next instruction, inside the same block.
    Plain,
    /// Ends the basic block; execution may continue with the next instruction, which then
    /// starts a new block (`fallthrough`, conditional branches).
    Branch,
    /// Ends the basic block and never falls through (`trap`, jumps).
    Jump,
}

impl Flow {
    /// Whether the instruction ends its basic block.
    #[inline]
    pub const fn ends_block(self) -> bool {
        !matches!(self, Flow::Plain)
    }

    /// Whether execution can continue with the next instruction.
    #[inline]
    pub const fn can_fall_through(self) -> bool {
        !matches!(self, Flow::Jump)
    }
}

/// The instruction sets (opcode numberings and encodings) that program blobs use.
#[derive(Copy, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum InstructionSet {
    /// PolkaVM's `ReviveV1` (blob version 0), the set pallet-revive accepts.
    ReviveV1,
    /// The Graypaper 0.5.4-0.7.2 numbering, written by the JAM PVM v0.4 test vectors:
    /// ReviveV1's numbering plus `sbrk` at 101. Raw code blobs only (no container version).
    Graypaper,
    /// PolkaVM's `JamV1` (blob version 3): Graypaper 0.8 numbering, no `sbrk`.
    JamV1,
    /// PolkaVM's `Latest64` (blob version 2): length-carrying opcodes, no bitmask,
    /// 1024-byte macro blocks, `sbrk` and `memset`.
    Latest64,
}

impl InstructionSet {
    /// Every instruction set, for tests and tools.
    pub const ALL: [InstructionSet; 4] = [
        InstructionSet::ReviveV1,
        InstructionSet::Graypaper,
        InstructionSet::JamV1,
        InstructionSet::Latest64,
    ];

    /// The version byte of a `PVM\0` container written in this instruction set.
    pub const fn blob_version(self) -> Option<u8> {
        match self {
            InstructionSet::ReviveV1 => Some(0),
            InstructionSet::Latest64 => Some(2),
            InstructionSet::JamV1 => Some(3),
            InstructionSet::Graypaper => None,
        }
    }

    /// The instruction set a container version byte announces.
    pub const fn from_blob_version(version: u8) -> Option<InstructionSet> {
        match version {
            0 => Some(InstructionSet::ReviveV1),
            2 => Some(InstructionSet::Latest64),
            3 => Some(InstructionSet::JamV1),
            _ => None,
        }
    }

    /// Whether code in this set carries a bitmask of instruction starts (one-byte opcodes).
    #[inline]
    pub const fn has_bitmask(self) -> bool {
        !matches!(self, InstructionSet::Latest64)
    }

    /// A short lowercase name, as the CLI and blob file names spell it.
    pub const fn name(self) -> &'static str {
        match self {
            InstructionSet::ReviveV1 => "revive_v1",
            InstructionSet::Graypaper => "graypaper",
            InstructionSet::JamV1 => "jam_v1",
            InstructionSet::Latest64 => "latest64",
        }
    }

    /// Parses [`InstructionSet::name`].
    pub fn from_name(name: &str) -> Option<InstructionSet> {
        InstructionSet::ALL
            .iter()
            .copied()
            .find(|isa| isa.name() == name)
    }

    /// Looks up a one-byte opcode (the bitmask instruction sets).
    #[inline]
    pub fn opcode_from_byte(self, byte: u8) -> Option<Opcode> {
        Opcode::from_index(self.opcode_index_table()[usize::from(byte)])
    }

    /// Each one-byte opcode's index in [`Opcode::ALL`], or [`NO_OPCODE`] (all of them for
    /// Latest64), for decoders that look the table up once and dispatch on the index.
    #[inline(always)]
    pub(crate) fn opcode_index_table(self) -> &'static [u8; 256] {
        match self {
            InstructionSet::ReviveV1 => &REVIVE_V1_TABLE,
            InstructionSet::Graypaper => &GRAYPAPER_TABLE,
            InstructionSet::JamV1 => &JAM_V1_TABLE,
            InstructionSet::Latest64 => &NO_OPCODE_TABLE,
        }
    }

    /// Looks up a Latest64 raw opcode (`0..=510`): the opcode and its fixed argument length.
    #[inline]
    pub fn extended_opcode(raw: u16) -> Option<(Opcode, u8)> {
        let (index, args_length) = Self::extended_opcode_index(raw);
        Opcode::from_index(index).map(|opcode| (opcode, args_length))
    }

    /// As [`extended_opcode`](InstructionSet::extended_opcode), with the opcode as its
    /// index in [`Opcode::ALL`] or [`NO_OPCODE`] (with argument length 0).
    #[inline(always)]
    pub(crate) fn extended_opcode_index(raw: u16) -> (u8, u8) {
        LATEST64_TABLE
            .get(usize::from(raw))
            .copied()
            .unwrap_or(NO_EXTENDED_OPCODE)
    }

    /// The one-byte encoding of `opcode` in a bitmask instruction set.
    pub fn opcode_to_byte(self, opcode: Opcode) -> Option<u8> {
        let info = opcode.info();
        match self {
            InstructionSet::ReviveV1 => info.revive_v1,
            InstructionSet::Graypaper => info.graypaper,
            InstructionSet::JamV1 => info.jam_v1,
            InstructionSet::Latest64 => None,
        }
    }

    /// Whether `opcode` exists in this instruction set.
    pub fn supports(self, opcode: Opcode) -> bool {
        match self {
            InstructionSet::Latest64 => !opcode.info().latest64.is_empty(),
            _ => self.opcode_to_byte(opcode).is_some(),
        }
    }
}

impl fmt::Display for InstructionSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Static facts about one opcode: its row of the table.
#[derive(Debug)]
pub struct OpcodeInfo {
    /// The assembler mnemonic.
    pub name: &'static str,
    /// Operand layout.
    pub format: Format,
    /// Basic-block behaviour.
    pub flow: Flow,
    /// Raw opcode in ReviveV1.
    pub revive_v1: Option<u8>,
    /// Raw opcode in the Graypaper 0.7 numbering (JAM v0.4 vectors).
    pub graypaper: Option<u8>,
    /// Raw opcode in JamV1.
    pub jam_v1: Option<u8>,
    /// Latest64 encodings as `(argument bytes, raw opcode)`, shortest first.
    pub latest64: &'static [(u8, u16)],
}

macro_rules! raw_opcode {
    (_) => {
        None
    };
    ($value:literal) => {
        Some($value)
    };
}

macro_rules! define_opcodes {
    ($(($variant:ident, $name:literal, $format:ident, $flow:ident, $revive:tt, $gp:tt, $jam:tt, [$($len:literal : $raw:literal),*]),)*) => {
        /// Every instruction, independent of how an instruction set numbers it.
        #[derive(Copy, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
        #[repr(u8)]
        #[allow(missing_docs)]
        pub enum Opcode {
            $($variant,)*
        }

        impl Opcode {
            /// Every opcode, in table order (the discriminant indexes it).
            pub const ALL: &'static [Opcode] = &[$(Opcode::$variant,)*];
        }

        discriminant!(
            /// The opcode's index in [`Opcode::ALL`] (and in the tables that follow its
            /// order, e.g. [`CostTable::costs`](crate::gas::CostTable::costs)).
            pub fn index(self) -> usize for Opcode
        );

        const OPCODE_INFO: &[OpcodeInfo] = &[
            $(OpcodeInfo {
                name: $name,
                format: Format::$format,
                flow: Flow::$flow,
                revive_v1: raw_opcode!($revive),
                graypaper: raw_opcode!($gp),
                jam_v1: raw_opcode!($jam),
                latest64: &[$(($len, $raw)),*],
            },)*
        ];
    };
}

// The opcode numbers are facts of the PolkaVM 0.37 and Graypaper encodings; a test checks
// this table against the `polkavm` crate's own decoder.
#[rustfmt::skip]
define_opcodes! {
    (Trap,                            "trap",                                  Argless,       Jump,     0,   0,   0, [0:0]),
    (Fallthrough,                     "fallthrough",                           Argless,       Branch,   1,   1,   1, [0:1]),
    (Memset,                          "memset",                                Argless,       Plain,    _,   _,   _, [0:510]),
    (Unlikely,                        "unlikely",                              Argless,       Plain,    _,   _,   2, [0:2]),
    (JumpIndirect,                    "jump_indirect",                         RegImm,        Jump,    50,  50,  50, [1:3,5:255]),
    (LoadImm,                         "load_imm",                              RegImm,        Plain,   51,  51,  51, [1:4,2:5,3:6,4:7,5:8]),
    (LoadU8,                          "load_u8",                               RegImm,        Plain,   52,  52,  52, [5:9]),
    (LoadI8,                          "load_i8",                               RegImm,        Plain,   53,  53,  53, [4:10,5:256]),
    (LoadU16,                         "load_u16",                              RegImm,        Plain,   54,  54,  54, [5:11]),
    (LoadI16,                         "load_i16",                              RegImm,        Plain,   55,  55,  55, [5:12]),
    (LoadI32,                         "load_i32",                              RegImm,        Plain,   57,  57,  57, [4:13,5:14]),
    (LoadU32,                         "load_u32",                              RegImm,        Plain,   56,  56,  56, [5:15]),
    (LoadU64,                         "load_u64",                              RegImm,        Plain,   58,  58,  58, [4:16,5:17]),
    (StoreU8,                         "store_u8",                              RegImm,        Plain,   59,  59,  59, [5:18]),
    (StoreU16,                        "store_u16",                             RegImm,        Plain,   60,  60,  60, [5:19]),
    (StoreU32,                        "store_u32",                             RegImm,        Plain,   61,  61,  61, [5:20]),
    (StoreU64,                        "store_u64",                             RegImm,        Plain,   62,  62,  62, [4:21,5:22]),
    (LoadImmAndJump,                  "load_imm_and_jump",                     RegImmOffset,  Jump,    80,  80,  80, [4:23,5:24,6:25,7:26,8:27,9:257]),
    (BranchEqImm,                     "branch_eq_imm",                         RegImmOffset,  Branch,  81,  81,  81, [2:28,3:29,4:30,5:31,6:32,9:33]),
    (BranchNotEqImm,                  "branch_not_eq_imm",                     RegImmOffset,  Branch,  82,  82,  82, [2:34,3:35,4:36,6:37,9:258]),
    (BranchLessUnsignedImm,           "branch_less_unsigned_imm",              RegImmOffset,  Branch,  83,  83,  83, [3:38,4:39,5:40,9:41]),
    (BranchLessSignedImm,             "branch_less_signed_imm",                RegImmOffset,  Branch,  87,  87,  87, [2:42,3:43,4:44,9:45]),
    (BranchGreaterOrEqualUnsignedImm, "branch_greater_or_equal_unsigned_imm",  RegImmOffset,  Branch,  85,  85,  85, [3:46,4:47,5:48,9:259]),
    (BranchGreaterOrEqualSignedImm,   "branch_greater_or_equal_signed_imm",    RegImmOffset,  Branch,  89,  89,  89, [2:49,3:50,9:51]),
    (BranchLessOrEqualSignedImm,      "branch_less_or_equal_signed_imm",       RegImmOffset,  Branch,  88,  88,  88, [2:52,3:53,6:54,9:260]),
    (BranchLessOrEqualUnsignedImm,    "branch_less_or_equal_unsigned_imm",     RegImmOffset,  Branch,  84,  84,  84, [3:55,4:56,6:57,9:261]),
    (BranchGreaterSignedImm,          "branch_greater_signed_imm",             RegImmOffset,  Branch,  90,  90,  90, [3:58,4:59,5:60,9:61]),
    (BranchGreaterUnsignedImm,        "branch_greater_unsigned_imm",           RegImmOffset,  Branch,  86,  86,  86, [3:62,4:63,5:64,9:65]),
    (StoreImmIndirectU8,              "store_imm_indirect_u8",                 RegImmImm,     Plain,   70,  70,  70, [1:66,2:67,3:68,4:69,5:70,9:262]),
    (StoreImmIndirectU16,             "store_imm_indirect_u16",                RegImmImm,     Plain,   71,  71,  71, [2:71,3:72,4:73,5:74,9:263]),
    (StoreImmIndirectU32,             "store_imm_indirect_u32",                RegImmImm,     Plain,   72,  72,  72, [1:75,2:76,3:77,4:78,6:79,9:80]),
    (StoreImmIndirectU64,             "store_imm_indirect_u64",                RegImmImm,     Plain,   73,  73,  73, [1:81,2:82,3:83,4:84,5:85,6:86,7:87,9:264]),
    (StoreIndirectU8,                 "store_indirect_u8",                     RegRegImm,     Plain,  120, 120, 120, [1:88,2:89,3:90,5:265]),
    (StoreIndirectU16,                "store_indirect_u16",                    RegRegImm,     Plain,  121, 121, 121, [1:91,2:92,3:93,5:266]),
    (StoreIndirectU32,                "store_indirect_u32",                    RegRegImm,     Plain,  122, 122, 122, [1:94,2:95,3:96,5:267]),
    (StoreIndirectU64,                "store_indirect_u64",                    RegRegImm,     Plain,  123, 123, 123, [1:97,2:98,3:99,5:268]),
    (LoadIndirectU8,                  "load_indirect_u8",                      RegRegImm,     Plain,  124, 124, 124, [1:100,2:101,3:102,5:269]),
    (LoadIndirectI8,                  "load_indirect_i8",                      RegRegImm,     Plain,  125, 125, 125, [1:103,2:104,3:105,5:270]),
    (LoadIndirectU16,                 "load_indirect_u16",                     RegRegImm,     Plain,  126, 126, 126, [1:106,2:107,3:108,5:271]),
    (LoadIndirectI16,                 "load_indirect_i16",                     RegRegImm,     Plain,  127, 127, 127, [1:109,2:110,3:111,5:272]),
    (LoadIndirectI32,                 "load_indirect_i32",                     RegRegImm,     Plain,  129, 129, 129, [1:112,2:113,3:114,5:273]),
    (LoadIndirectU32,                 "load_indirect_u32",                     RegRegImm,     Plain,  128, 128, 128, [1:115,2:116,3:117,5:274]),
    (LoadIndirectU64,                 "load_indirect_u64",                     RegRegImm,     Plain,  130, 130, 130, [1:118,2:119,3:120,5:275]),
    (AddImm32,                        "add_imm_32",                            RegRegImm,     Plain,  131, 131, 131, [1:121,2:122,3:123,5:124]),
    (AddImm64,                        "add_imm_64",                            RegRegImm,     Plain,  149, 149, 149, [2:125,3:126,4:127,5:128]),
    (AndImm,                          "and_imm",                               RegRegImm,     Plain,  132, 132, 132, [2:129,3:130,5:131]),
    (XorImm,                          "xor_imm",                               RegRegImm,     Plain,  133, 133, 133, [2:132,3:133,5:134]),
    (OrImm,                           "or_imm",                                RegRegImm,     Plain,  134, 134, 134, [2:135,3:136,5:137]),
    (MulImm32,                        "mul_imm_32",                            RegRegImm,     Plain,  135, 135, 135, [5:138]),
    (MulImm64,                        "mul_imm_64",                            RegRegImm,     Plain,  150, 150, 150, [2:139,3:140,5:141]),
    (SetLessThanUnsignedImm,          "set_less_than_unsigned_imm",            RegRegImm,     Plain,  136, 136, 136, [2:142,3:143,5:144]),
    (SetLessThanSignedImm,            "set_less_than_signed_imm",              RegRegImm,     Plain,  137, 137, 137, [1:145,2:146,5:276]),
    (ShiftLogicalLeftImm32,           "shift_logical_left_imm_32",             RegRegImm,     Plain,  138, 138, 138, [2:147,5:277]),
    (ShiftLogicalLeftImm64,           "shift_logical_left_imm_64",             RegRegImm,     Plain,  151, 151, 151, [2:148,5:278]),
    (ShiftLogicalRightImm32,          "shift_logical_right_imm_32",            RegRegImm,     Plain,  139, 139, 139, [2:149,5:279]),
    (ShiftLogicalRightImm64,          "shift_logical_right_imm_64",            RegRegImm,     Plain,  152, 152, 152, [2:150,5:280]),
    (ShiftArithmeticRightImm32,       "shift_arithmetic_right_imm_32",         RegRegImm,     Plain,  140, 140, 140, [2:151,5:281]),
    (ShiftArithmeticRightImm64,       "shift_arithmetic_right_imm_64",         RegRegImm,     Plain,  153, 153, 153, [2:152,5:282]),
    (NegateAndAddImm32,               "negate_and_add_imm_32",                 RegRegImm,     Plain,  141, 141, 141, [1:153,3:154,5:283]),
    (NegateAndAddImm64,               "negate_and_add_imm_64",                 RegRegImm,     Plain,  154, 154, 154, [1:155,2:156,5:157]),
    (SetGreaterThanUnsignedImm,       "set_greater_than_unsigned_imm",         RegRegImm,     Plain,  142, 142, 142, [1:158,5:159]),
    (SetGreaterThanSignedImm,         "set_greater_than_signed_imm",           RegRegImm,     Plain,  143, 143, 143, [1:160,5:284]),
    (ShiftLogicalRightImmAlt32,       "shift_logical_right_imm_alt_32",        RegRegImm,     Plain,  145, 145, 145, [5:285]),
    (ShiftLogicalRightImmAlt64,       "shift_logical_right_imm_alt_64",        RegRegImm,     Plain,  156, 156, 156, [2:161,5:162]),
    (ShiftArithmeticRightImmAlt32,    "shift_arithmetic_right_imm_alt_32",     RegRegImm,     Plain,  146, 146, 146, [5:286]),
    (ShiftArithmeticRightImmAlt64,    "shift_arithmetic_right_imm_alt_64",     RegRegImm,     Plain,  157, 157, 157, [5:287]),
    (ShiftLogicalLeftImmAlt32,        "shift_logical_left_imm_alt_32",         RegRegImm,     Plain,  144, 144, 144, [5:163]),
    (ShiftLogicalLeftImmAlt64,        "shift_logical_left_imm_alt_64",         RegRegImm,     Plain,  155, 155, 155, [2:164,5:288]),
    (CmovIfZeroImm,                   "cmov_if_zero_imm",                      RegRegImm,     Plain,  147, 147, 147, [1:165,2:166,5:167]),
    (CmovIfNotZeroImm,                "cmov_if_not_zero_imm",                  RegRegImm,     Plain,  148, 148, 148, [1:168,2:169,5:170]),
    (RotateRightImm32,                "rotate_right_imm_32",                   RegRegImm,     Plain,  160, 160, 160, [2:171,5:289]),
    (RotateRightImmAlt32,             "rotate_right_imm_alt_32",               RegRegImm,     Plain,  161, 161, 161, [5:290]),
    (RotateRightImm64,                "rotate_right_imm_64",                   RegRegImm,     Plain,  158, 158, 158, [2:172,5:291]),
    (RotateRightImmAlt64,             "rotate_right_imm_alt_64",               RegRegImm,     Plain,  159, 159, 159, [5:292]),
    (BranchEq,                        "branch_eq",                             RegRegOffset,  Branch, 170, 170, 170, [2:173,3:174,5:175]),
    (BranchNotEq,                     "branch_not_eq",                         RegRegOffset,  Branch, 171, 171, 171, [2:176,3:177,5:178]),
    (BranchLessUnsigned,              "branch_less_unsigned",                  RegRegOffset,  Branch, 172, 172, 172, [2:179,3:180,5:293]),
    (BranchLessSigned,                "branch_less_signed",                    RegRegOffset,  Branch, 173, 173, 173, [2:181,3:182,5:294]),
    (BranchGreaterOrEqualUnsigned,    "branch_greater_or_equal_unsigned",      RegRegOffset,  Branch, 174, 174, 174, [2:183,3:184,5:295]),
    (BranchGreaterOrEqualSigned,      "branch_greater_or_equal_signed",        RegRegOffset,  Branch, 175, 175, 175, [2:185,3:186,5:296]),
    (Add32,                           "add_32",                                RegRegReg,     Plain,  190, 190, 190, [2:187]),
    (Add64,                           "add_64",                                RegRegReg,     Plain,  200, 200, 200, [2:188]),
    (Sub32,                           "sub_32",                                RegRegReg,     Plain,  191, 191, 191, [2:189]),
    (Sub64,                           "sub_64",                                RegRegReg,     Plain,  201, 201, 201, [2:190]),
    (And,                             "and",                                   RegRegReg,     Plain,  210, 210, 210, [2:191]),
    (Xor,                             "xor",                                   RegRegReg,     Plain,  211, 211, 211, [2:192]),
    (Or,                              "or",                                    RegRegReg,     Plain,  212, 212, 212, [2:193]),
    (Mul32,                           "mul_32",                                RegRegReg,     Plain,  192, 192, 192, [2:194]),
    (Mul64,                           "mul_64",                                RegRegReg,     Plain,  202, 202, 202, [2:195]),
    (MulUpperSignedSigned,            "mul_upper_signed_signed",               RegRegReg,     Plain,  213, 213, 213, [2:297]),
    (MulUpperUnsignedUnsigned,        "mul_upper_unsigned_unsigned",           RegRegReg,     Plain,  214, 214, 214, [2:196]),
    (MulUpperSignedUnsigned,          "mul_upper_signed_unsigned",             RegRegReg,     Plain,  215, 215, 215, [2:298]),
    (SetLessThanUnsigned,             "set_less_than_unsigned",                RegRegReg,     Plain,  216, 216, 216, [2:197]),
    (SetLessThanSigned,               "set_less_than_signed",                  RegRegReg,     Plain,  217, 217, 217, [2:198]),
    (ShiftLogicalLeft32,              "shift_logical_left_32",                 RegRegReg,     Plain,  197, 197, 197, [2:199]),
    (ShiftLogicalLeft64,              "shift_logical_left_64",                 RegRegReg,     Plain,  207, 207, 207, [2:200]),
    (ShiftLogicalRight32,             "shift_logical_right_32",                RegRegReg,     Plain,  198, 198, 198, [2:201]),
    (ShiftLogicalRight64,             "shift_logical_right_64",                RegRegReg,     Plain,  208, 208, 208, [2:202]),
    (ShiftArithmeticRight32,          "shift_arithmetic_right_32",             RegRegReg,     Plain,  199, 199, 199, [2:299]),
    (ShiftArithmeticRight64,          "shift_arithmetic_right_64",             RegRegReg,     Plain,  209, 209, 209, [2:300]),
    (DivUnsigned32,                   "div_unsigned_32",                       RegRegReg,     Plain,  193, 193, 193, [2:203]),
    (DivUnsigned64,                   "div_unsigned_64",                       RegRegReg,     Plain,  203, 203, 203, [2:204]),
    (DivSigned32,                     "div_signed_32",                         RegRegReg,     Plain,  194, 194, 194, [2:205]),
    (DivSigned64,                     "div_signed_64",                         RegRegReg,     Plain,  204, 204, 204, [2:301]),
    (RemUnsigned32,                   "rem_unsigned_32",                       RegRegReg,     Plain,  195, 195, 195, [2:206]),
    (RemUnsigned64,                   "rem_unsigned_64",                       RegRegReg,     Plain,  205, 205, 205, [2:207]),
    (RemSigned32,                     "rem_signed_32",                         RegRegReg,     Plain,  196, 196, 196, [2:208]),
    (RemSigned64,                     "rem_signed_64",                         RegRegReg,     Plain,  206, 206, 206, [2:302]),
    (CmovIfZero,                      "cmov_if_zero",                          RegRegReg,     Plain,  218, 218, 218, [2:209]),
    (CmovIfNotZero,                   "cmov_if_not_zero",                      RegRegReg,     Plain,  219, 219, 219, [2:210]),
    (AndInverted,                     "and_inverted",                          RegRegReg,     Plain,  224, 224, 224, [2:211]),
    (OrInverted,                      "or_inverted",                           RegRegReg,     Plain,  225, 225, 225, [2:212]),
    (Xnor,                            "xnor",                                  RegRegReg,     Plain,  226, 226, 226, [2:213]),
    (Maximum,                         "maximum",                               RegRegReg,     Plain,  227, 227, 227, [2:303]),
    (MaximumUnsigned,                 "maximum_unsigned",                      RegRegReg,     Plain,  228, 228, 228, [2:214]),
    (Minimum,                         "minimum",                               RegRegReg,     Plain,  229, 229, 229, [2:304]),
    (MinimumUnsigned,                 "minimum_unsigned",                      RegRegReg,     Plain,  230, 230, 230, [2:215]),
    (RotateLeft32,                    "rotate_left_32",                        RegRegReg,     Plain,  221, 221, 221, [2:305]),
    (RotateLeft64,                    "rotate_left_64",                        RegRegReg,     Plain,  220, 220, 220, [2:216]),
    (RotateRight32,                   "rotate_right_32",                       RegRegReg,     Plain,  223, 223, 223, [2:306]),
    (RotateRight64,                   "rotate_right_64",                       RegRegReg,     Plain,  222, 222, 222, [2:307]),
    (Jump,                            "jump",                                  Offset,        Jump,    40,  40,  40, [1:217,2:218,3:219,4:220]),
    (Ecalli,                          "ecalli",                                Imm,           Plain,   10,  10,  10, [1:221,4:308]),
    (StoreImmU8,                      "store_imm_u8",                          ImmImm,        Plain,   30,  30,  30, [6:222,9:309]),
    (StoreImmU16,                     "store_imm_u16",                         ImmImm,        Plain,   31,  31,  31, [9:310]),
    (StoreImmU32,                     "store_imm_u32",                         ImmImm,        Plain,   32,  32,  32, [5:223,6:224,9:225]),
    (StoreImmU64,                     "store_imm_u64",                         ImmImm,        Plain,   33,  33,  33, [5:226,9:311]),
    (MoveReg,                         "move_reg",                              RegReg,        Plain,  100, 100, 100, [1:227]),
    (Sbrk,                            "sbrk",                                  RegReg,        Plain,    _, 101,   _, [1:509]),
    (CountLeadingZeroBits32,          "count_leading_zero_bits_32",            RegReg,        Plain,  105, 105, 104, [1:228]),
    (CountLeadingZeroBits64,          "count_leading_zero_bits_64",            RegReg,        Plain,  104, 104, 103, [1:229]),
    (CountTrailingZeroBits32,         "count_trailing_zero_bits_32",           RegReg,        Plain,  107, 107, 106, [1:312]),
    (CountTrailingZeroBits64,         "count_trailing_zero_bits_64",           RegReg,        Plain,  106, 106, 105, [1:230]),
    (CountSetBits32,                  "count_set_bits_32",                     RegReg,        Plain,  103, 103, 102, [1:231]),
    (CountSetBits64,                  "count_set_bits_64",                     RegReg,        Plain,  102, 102, 101, [1:232]),
    (SignExtend8,                     "sign_extend_8",                         RegReg,        Plain,  108, 108, 107, [1:233]),
    (SignExtend16,                    "sign_extend_16",                        RegReg,        Plain,  109, 109, 108, [1:234]),
    (ZeroExtend16,                    "zero_extend_16",                        RegReg,        Plain,  110, 110, 109, [1:235]),
    (ReverseByte,                     "reverse_byte",                          RegReg,        Plain,  111, 111, 110, [1:236]),
    (LoadImmAndJumpIndirect,          "load_imm_and_jump_indirect",            RegRegImmImm,  Jump,   180, 180, 180, [4:237,5:238,10:313]),
    (LoadImm64,                       "load_imm64",                            RegImm64,      Plain,   20,  20,  20, [9:239]),
}

impl Opcode {
    /// This opcode's row of the table.
    #[inline]
    pub fn info(self) -> &'static OpcodeInfo {
        &OPCODE_INFO[self.index()]
    }

    /// The assembler mnemonic.
    #[inline]
    pub fn name(self) -> &'static str {
        self.info().name
    }

    /// Operand layout.
    #[inline]
    pub fn format(self) -> Format {
        self.info().format
    }

    /// Basic-block behaviour.
    #[inline]
    pub fn flow(self) -> Flow {
        self.info().flow
    }

    /// Whether the instruction loads or stores guest memory (every load and store form;
    /// not `memset`, whose bytes are charged as it writes them): the instructions that
    /// pay a cost table's memory-access surcharge
    /// ([`CostTable::memory_tiers`](crate::gas::CostTable::memory_tiers)).
    #[inline]
    pub const fn accesses_memory(self) -> bool {
        use Opcode as O;
        matches!(
            self,
            O::LoadU8
                | O::LoadI8
                | O::LoadU16
                | O::LoadI16
                | O::LoadU32
                | O::LoadI32
                | O::LoadU64
                | O::StoreU8
                | O::StoreU16
                | O::StoreU32
                | O::StoreU64
                | O::StoreImmU8
                | O::StoreImmU16
                | O::StoreImmU32
                | O::StoreImmU64
                | O::StoreImmIndirectU8
                | O::StoreImmIndirectU16
                | O::StoreImmIndirectU32
                | O::StoreImmIndirectU64
                | O::StoreIndirectU8
                | O::StoreIndirectU16
                | O::StoreIndirectU32
                | O::StoreIndirectU64
                | O::LoadIndirectU8
                | O::LoadIndirectI8
                | O::LoadIndirectU16
                | O::LoadIndirectI16
                | O::LoadIndirectU32
                | O::LoadIndirectI32
                | O::LoadIndirectU64
        )
    }

    /// Finds an opcode by mnemonic.
    pub fn from_name(name: &str) -> Option<Opcode> {
        Opcode::ALL.iter().copied().find(|op| op.name() == name)
    }
}

impl Opcode {
    /// The opcode at `index` in [`Opcode::ALL`], if any.
    #[inline(always)]
    pub fn from_index(index: u8) -> Option<Opcode> {
        Opcode::ALL.get(usize::from(index)).copied()
    }

    /// The flow of the opcode at `index` in [`Opcode::ALL`]; an invalid instruction's
    /// ([`Flow::Jump`]) for any other index.
    #[inline(always)]
    pub(crate) fn flow_of_index(index: u8) -> Flow {
        OPCODE_INFO
            .get(usize::from(index))
            .map_or(Flow::Jump, |info| info.flow)
    }
}

impl fmt::Display for Opcode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The index of no opcode (an invalid instruction), where an opcode index is expected.
pub(crate) const NO_OPCODE: u8 = u8::MAX;
/// A Latest64 raw opcode that encodes nothing: no opcode, no argument bytes.
const NO_EXTENDED_OPCODE: (u8, u8) = (NO_OPCODE, 0);

// Opcode indexes are `u8`s, and `NO_OPCODE` is none of them.
const _: () = assert!(OPCODE_INFO.len() <= usize_from_u8(NO_OPCODE));

const fn build_byte_table(isa: InstructionSet) -> [u8; 256] {
    let mut table = [NO_OPCODE; 256];
    let mut index: u8 = 0;
    while usize_from_u8(index) < OPCODE_INFO.len() {
        let info = &OPCODE_INFO[usize_from_u8(index)];
        let raw = match isa {
            InstructionSet::ReviveV1 => info.revive_v1,
            InstructionSet::Graypaper => info.graypaper,
            InstructionSet::JamV1 => info.jam_v1,
            InstructionSet::Latest64 => None,
        };
        if let Some(raw) = raw {
            assert!(
                table[usize_from_u8(raw)] == NO_OPCODE,
                "duplicate raw opcode"
            );
            table[usize_from_u8(raw)] = index;
        }
        index += 1;
    }
    table
}

/// Latest64 raw opcodes run from 0 to 510 (255 is the two-byte prefix plus 0).
pub(crate) const EXTENDED_RAW_OPCODE_COUNT: usize = 511;

/// Each Latest64 raw opcode's `(opcode index, argument bytes)`.
const fn build_extended_table() -> [(u8, u8); EXTENDED_RAW_OPCODE_COUNT] {
    let mut table = [NO_EXTENDED_OPCODE; EXTENDED_RAW_OPCODE_COUNT];
    let mut index: u8 = 0;
    while usize_from_u8(index) < OPCODE_INFO.len() {
        let encodings = OPCODE_INFO[usize_from_u8(index)].latest64;
        let mut n = 0;
        while n < encodings.len() {
            let (args_length, raw) = encodings[n];
            assert!(
                table[usize_from_u16(raw)].0 == NO_OPCODE,
                "duplicate raw opcode"
            );
            table[usize_from_u16(raw)] = (index, args_length);
            n += 1;
        }
        index += 1;
    }
    table
}

static REVIVE_V1_TABLE: [u8; 256] = build_byte_table(InstructionSet::ReviveV1);
static NO_OPCODE_TABLE: [u8; 256] = [NO_OPCODE; 256];
static GRAYPAPER_TABLE: [u8; 256] = build_byte_table(InstructionSet::Graypaper);
static JAM_V1_TABLE: [u8; 256] = build_byte_table(InstructionSet::JamV1);
static LATEST64_TABLE: [(u8, u8); EXTENDED_RAW_OPCODE_COUNT] = build_extended_table();
