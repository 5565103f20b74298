//! Benchmarks of the pallet's extrinsics and of the engine work they pay for
//! (frame-benchmarking v2).
//!
//! Every benchmark sets up the worst case its weight function must cover: the longest code
//! (and code that is slowest to validate and compile per byte), cold storage, a fresh engine
//! with no cached module. The weights are generated from them by `pallet-weights`
//! (`benchmarking/`, README "Generating weights"), which runs them inside the wasm runtime
//! through `sc-executor` with the node's pvm host functions and a fresh `PvmExtension` per
//! run, as a node executes blocks.

use crate::{abi, BalanceOf, Call, CodeInfoOf, Config, ContractInfoOf, Pallet, PristineCode};
use alloc::{format, string::String, vec, vec::Vec};
use frame_benchmarking::v2::*;
use frame_support::traits::fungible::{Inspect, Mutate};
use frame_support::traits::Get;
use frame_support::weights::Weight;
use frame_system::RawOrigin;
use pvm_host_functions::Engine;
use sp_core::H256;
use sp_runtime::Saturating;

/// Funds `account` generously: deposits for the largest code and value to send.
fn funded<T: Config>(account: &T::AccountId) {
    let amount = T::Currency::minimum_balance().saturating_mul(1_000_000_000u32.into());
    let _ = T::Currency::set_balance(account, amount);
}

fn caller<T: Config>() -> T::AccountId {
    let caller: T::AccountId = whitelisted_caller();
    funded::<T>(&caller);
    caller
}

/// No deposit limit: the benchmarks measure work, not refusals.
fn no_deposit_limit<T: Config>() -> BalanceOf<T> {
    T::Currency::minimum_balance().saturating_mul(1_000_000_000u32.into())
}

/// A weight limit no benchmarked call reaches.
fn ample_weight() -> Weight {
    Weight::from_parts(500_000_000_000, 5 * 1024 * 1024)
}

/// Valid contract code of close to `len` bytes (at least `len`, unless `len` is near the
/// runtime's `MaxCodeLen`), made of what is slowest to validate and compile per byte:
/// basic blocks of ALU work, memory accesses and a conditional branch, each instruction
/// with operands to decode, every block as long as the runtime allows.
///
/// `deploy` and `call` return at once, so instantiating and calling it costs only the
/// loading.
fn code_of_len<T: Config>(len: u32) -> Vec<u8> {
    let limit = T::MaxCodeLen::get() as usize;
    let target = (len as usize).min(limit);
    // Sizes are close to linear in the number of blocks (immediates vary): estimate, then
    // step to the first size at or past the target that still fits the limit.
    let empty = assemble_blocks(0).len();
    let per_block = (assemble_blocks(64).len() - empty).div_ceil(64);
    let mut blocks = (target.saturating_sub(empty) / per_block) as u32;
    let mut code = assemble_blocks(blocks);
    while code.len() > limit && blocks > 0 {
        blocks -= 1;
        code = assemble_blocks(blocks);
    }
    while code.len() < target {
        let next = assemble_blocks(blocks + 1);
        if next.len() > limit {
            break;
        }
        blocks += 1;
        code = next;
    }
    code
}

fn assemble_blocks(blocks: u32) -> Vec<u8> {
    let mut source = String::from(
        ".isa revive_v1\n.stack_size 4096\n.rw_data_size 4096\npub @deploy:\npub @call:\n",
    );
    for i in 0..blocks {
        source += &format!(
            "@b{i}:\n add_imm_64 a0, a0, {}\n xor a1, a1, a0\n load_indirect_u32 a2, sp, -8\n \
             store_indirect_u32 a2, sp, -16\n shift_logical_left_imm_64 a3, a0, 3\n \
             mul_64 a4, a3, a1\n branch_less_unsigned_imm a0, {}, @b{}\n",
            i % 97 + 1,
            i % 1000,
            i + 1
        );
    }
    source += &format!("@b{blocks}:\n jump_indirect ra, 0\n");
    let blob = pvm_core::asm::assemble(&source).expect("the generator's source assembles");
    blob.to_bytes()
        .expect("ReviveV1 blobs have a container form")
}

/// Uploads `code` as `owner`; its hash.
fn stored_code<T: Config>(owner: &T::AccountId, code: Vec<u8>) -> H256 {
    let hash = H256(sp_io::hashing::blake2_256(&code));
    Pallet::<T>::upload_code(
        RawOrigin::Signed(owner.clone()).into(),
        code,
        no_deposit_limit::<T>(),
    )
    .expect("benchmark code uploads");
    hash
}

/// A contract of the smallest code, instantiated by `owner`.
fn contract<T: Config>(owner: &T::AccountId) -> T::AccountId {
    let hash = stored_code::<T>(owner, code_of_len::<T>(0));
    let outcome = Pallet::<T>::bare_instantiate(
        owner.clone(),
        hash,
        0u32.into(),
        ample_weight(),
        no_deposit_limit::<T>(),
        Vec::new(),
        vec![1],
    );
    outcome
        .result
        .expect("benchmark contract instantiates")
        .contract
}

#[benchmarks]
mod benchmarks {
    use super::*;

    /// Upload of `c` bytes of code: hashing, validation (parsing, decoding every
    /// instruction, compiling and instantiating it once), storing it, the deposit.
    #[benchmark(pov_mode = Measured)]
    fn upload_code(c: Linear<1024, { T::MaxCodeLen::get() }>) {
        let caller = caller::<T>();
        let code = code_of_len::<T>(c);
        let hash = H256(sp_io::hashing::blake2_256(&code));

        #[extrinsic_call]
        _(RawOrigin::Signed(caller), code, no_deposit_limit::<T>());

        assert!(CodeInfoOf::<T>::contains_key(hash));
    }

    /// Removal of the largest code: its deposit released, its blob and info deleted.
    #[benchmark(pov_mode = Measured)]
    fn remove_code() {
        let caller = caller::<T>();
        let hash = stored_code::<T>(&caller, code_of_len::<T>(T::MaxCodeLen::get()));

        #[extrinsic_call]
        _(RawOrigin::Signed(caller), hash);

        assert!(!PristineCode::<T>::contains_key(hash));
    }

    /// `instantiate` of the smallest code (its loading is `load_code`, its running gas).
    #[benchmark(pov_mode = Measured)]
    fn instantiate() {
        let caller = caller::<T>();
        let hash = stored_code::<T>(&caller, code_of_len::<T>(0));
        let contract = Pallet::<T>::contract_address(&caller, &hash, &[7]);

        #[extrinsic_call]
        _(
            RawOrigin::Signed(caller),
            T::Currency::minimum_balance(),
            ample_weight(),
            no_deposit_limit::<T>(),
            hash,
            Vec::new(),
            vec![7],
        );

        assert!(ContractInfoOf::<T>::contains_key(&contract));
    }

    /// `call` of a contract of the smallest code (its loading is `load_code`, its running
    /// gas).
    #[benchmark(pov_mode = Measured)]
    fn call() {
        let caller = caller::<T>();
        let dest = contract::<T>(&caller);

        #[extrinsic_call]
        _(
            RawOrigin::Signed(caller),
            dest,
            T::Currency::minimum_balance(),
            ample_weight(),
            no_deposit_limit::<T>(),
            Vec::new(),
        );
    }

    /// Loading `c` bytes of code for a call: its info and blob read from storage, compiled
    /// without the engine's cache (a module is cached within a block only, and the first
    /// call pays), instantiated and destroyed.
    #[benchmark(pov_mode = Measured)]
    fn load_code(c: Linear<1024, { T::MaxCodeLen::get() }>) {
        let caller = caller::<T>();
        let hash = stored_code::<T>(&caller, code_of_len::<T>(c));
        let limits = Pallet::<T>::engine_limits();
        let mut engine = T::Engine::default();

        #[block]
        {
            let info = CodeInfoOf::<T>::get(hash).expect("stored above");
            let code = PristineCode::<T>::get(hash).expect("stored above");
            let compiled = engine
                .compile(&code, None, &limits)
                .expect("valid code compiles");
            let instance = engine
                .instantiate(compiled.module, &limits)
                .expect("valid code instantiates");
            engine
                .prepare_call(instance, abi::CALL_EXPORT.as_bytes())
                .expect("the code exports call");
            let _ = engine.destroy(instance);
            assert!(info.code_len > 0);
        }
    }

    impl_benchmark_test_suite!(Pallet, crate::mock::new_test_ext(), crate::mock::Test);
}
