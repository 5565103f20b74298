pub @add:
    add_64 a0, a0, a1
    jump_indirect ra, 0
