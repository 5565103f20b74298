; comments start with ';' or '//'
.isa latest64
.stack_size 4096
.ro_data 01 02 0a ff
.rw_data_size 16
.import "host_fn"
pub @main:
    load_imm a0, 5
@loop:
    add_imm_64 a0, a0, -1
    branch_not_eq_imm a0, 0, @loop
    load_imm t0, @done
    ecalli 0
    jump_indirect t0, 0
@done:
    jump_indirect ra, 0
