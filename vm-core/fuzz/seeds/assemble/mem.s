.isa jam_v1
.rw_data 00 11 22 33 44 55 66 77
.stack_size 0x100
pub @main: load_imm64 a1, 0xffffffffffffffff
    store_indirect_u64 a1, sp, -8
    load_indirect_u64 a2, sp, -8
    store_imm_u32 0x20000, 7
    store_imm_indirect_u16 sp, -16, -1
    load_imm_and_jump_indirect a3, ra, 1, 0
