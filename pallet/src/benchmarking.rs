//! Benchmarks of the pallet's extrinsics, of the engine work they pay for and of the
//! syscalls (frame-benchmarking v2). A syscall benchmark calls the syscall path directly
//! on a live frame ([`SyscallFixture`]), so it measures that syscall alone.
//!
//! Every benchmark sets up the worst case its weight function must cover: the longest code
//! (and code that is slowest to validate and compile per byte), cold storage, a fresh engine
//! with no cached module. The weights are generated from them by `pallet-weights`
//! (`benchmarking/`, README "Generating weights"), which runs them inside the wasm runtime
//! through `sc-executor` with the node's pvm host functions and a fresh `PvmExtension` per
//! run, as a node executes blocks.

use crate::exec::{Frame, Stack};
use crate::syscalls::{dispatch, Flow};
use crate::{
    abi, BalanceOf, Call, CodeInfoOf, Config, ContractInfoOf, ContractStorage, Pallet, PristineCode,
};
use alloc::{format, string::String, vec, vec::Vec};
use frame_benchmarking::v2::*;
use frame_support::traits::fungible::{Inspect, Mutate};
use frame_support::traits::Get;
use frame_support::weights::Weight;
use frame_system::RawOrigin;
use pvm_host_functions::{Engine, InstanceId};
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

/// Read-write data of the syscall fixture's contract: the longest key and after it the
/// largest input of any syscall (a hash's) fit.
const FIXTURE_RW_DATA: u32 = abi::MAX_KEY_LEN + abi::MAX_HASH_INPUT_LEN + 4096;

/// A contract's frame with a live instance, for calling one syscall directly (as the
/// syscall path does after the engine stops at `ecalli`), so that a benchmark measures
/// that syscall and nothing of the engine's round trip (`syscall` is benchmarked apart).
struct SyscallFixture<T: Config> {
    stack: Stack<T>,
    frame: Frame<T>,
    instance: InstanceId,
    /// Where the contract's read-write data starts: keys at its start, values after the
    /// largest key.
    rw_data: u32,
}

impl<T: Config> SyscallFixture<T> {
    fn new() -> Self {
        let caller = caller::<T>();
        let source = format!(".isa revive_v1\n.rw_data_size {FIXTURE_RW_DATA}\npub @deploy:\npub @call:\n jump_indirect ra, 0\n");
        let code = pvm_core::asm::assemble(&source)
            .expect("the fixture's source assembles")
            .to_bytes()
            .expect("ReviveV1 blobs have a container form");
        let hash = stored_code::<T>(&caller, code.clone());
        let contract = Pallet::<T>::bare_instantiate(
            caller.clone(),
            hash,
            0u32.into(),
            ample_weight(),
            no_deposit_limit::<T>(),
            Vec::new(),
            Vec::new(),
        )
        .result
        .expect("the fixture instantiates")
        .contract;
        let info = ContractInfoOf::<T>::get(&contract).expect("instantiated above");
        let mut stack =
            Stack::<T>::for_benchmarks(caller.clone(), ample_weight(), no_deposit_limit::<T>());
        let limits = Pallet::<T>::engine_limits();
        let compiled = stack
            .engine
            .compile(&code, Some(hash.0), &limits)
            .expect("the fixture compiles");
        let instance = stack
            .engine
            .instantiate(compiled.module, &limits)
            .expect("the fixture instantiates in the engine");
        // Its memory is the guest's once a call is prepared, as at a syscall.
        stack
            .engine
            .prepare_call(instance, abi::CALL_EXPORT.as_bytes())
            .expect("the fixture exports call");
        let rw_data = pvm_core::program::MemoryMap::new(pvm_core::program::MemoryMapSizes {
            page_size: 4096,
            ro_data_size: 0,
            rw_data_size: FIXTURE_RW_DATA,
            stack_size: 0,
            aux_data_size: 0,
        })
        .expect("the fixture's layout")
        .rw_data_address;
        let frame = Frame {
            contract,
            caller,
            value: 0u32.into(),
            info: info.clone(),
            call_data: Vec::new(),
            stored_info: Some(info),
        };
        SyscallFixture {
            stack,
            frame,
            instance,
            rw_data,
        }
    }

    /// The largest key, written to guest memory; its address.
    fn key(&mut self) -> (Vec<u8>, u32) {
        let key = vec![0x6b; abi::MAX_KEY_LEN as usize];
        self.write(self.rw_data, &key);
        (key, self.rw_data)
    }

    /// `len` bytes written to guest memory after the key; their address.
    fn value(&mut self, len: u32) -> u32 {
        let at = self.rw_data + abi::MAX_KEY_LEN;
        self.write(at, &vec![0x76; len as usize]);
        at
    }

    fn write(&mut self, at: u32, bytes: &[u8]) {
        self.stack
            .engine
            .write_memory(self.instance, at, bytes)
            .expect("the fixture's memory holds it");
    }

    /// A fixture whose contract stores a value of `len` bytes under the longest key
    /// (written to guest memory too); the key's address.
    fn with_stored_value(len: u32) -> (Self, u32) {
        let mut fixture = Self::new();
        let (key, key_ptr) = fixture.key();
        fixture.store(&key, len);
        (fixture, key_ptr)
    }

    /// Stores a value of `len` bytes under `key` for the fixture's contract.
    fn store(&self, key: &[u8], len: u32) {
        ContractStorage::<T>::insert(
            &self.frame.contract,
            crate::StorageKey::try_from(key.to_vec()).expect("a key of the largest length"),
            crate::StorageValue::try_from(vec![0x76; len as usize])
                .expect("at most the largest value"),
        );
    }

    /// Serves `symbol` with `args` as the syscall path does; what it resumes the guest with.
    fn syscall(&mut self, symbol: &str, args: [u64; 6]) -> u64 {
        match dispatch(
            &mut self.stack,
            &mut self.frame,
            self.instance,
            symbol.as_bytes(),
            args,
        ) {
            Ok(Flow::Resume(value)) => value,
            _ => panic!("{symbol} resumes the guest"),
        }
    }
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

    /// `get_storage` of a cold value of `n` bytes under the longest key, copied out whole.
    #[benchmark(pov_mode = Measured)]
    fn syscall_get_storage(n: Linear<0, { abi::MAX_VALUE_LEN }>) {
        let (mut fixture, key_ptr) = SyscallFixture::<T>::with_stored_value(n);
        let out = fixture.value(0);
        let result;

        #[block]
        {
            result = fixture.syscall(
                "get_storage",
                [
                    key_ptr.into(),
                    abi::MAX_KEY_LEN.into(),
                    out.into(),
                    abi::MAX_VALUE_LEN.into(),
                    0,
                    0,
                ],
            );
        }

        assert_eq!(result, u64::from(n));
    }

    /// `set_storage` of `n` bytes over a cold value of the largest length (read for the
    /// deposit accounting).
    #[benchmark(pov_mode = Measured)]
    fn syscall_set_storage(n: Linear<0, { abi::MAX_VALUE_LEN }>) {
        let (mut fixture, key_ptr) = SyscallFixture::<T>::with_stored_value(abi::MAX_VALUE_LEN);
        let value = fixture.value(n);
        let result;

        #[block]
        {
            result = fixture.syscall(
                "set_storage",
                [
                    key_ptr.into(),
                    abi::MAX_KEY_LEN.into(),
                    value.into(),
                    n.into(),
                    0,
                    0,
                ],
            );
        }

        assert_eq!(result, u64::from(abi::MAX_VALUE_LEN));
    }

    /// `clear_storage` of a cold value of the largest length.
    #[benchmark(pov_mode = Measured)]
    fn syscall_clear_storage() {
        let (mut fixture, key_ptr) = SyscallFixture::<T>::with_stored_value(abi::MAX_VALUE_LEN);
        let result;

        #[block]
        {
            result = fixture.syscall(
                "clear_storage",
                [key_ptr.into(), abi::MAX_KEY_LEN.into(), 0, 0, 0, 0],
            );
        }

        assert_eq!(result, u64::from(abi::MAX_VALUE_LEN));
    }

    /// `contains_storage` of a cold value of the largest length (all of it enters the
    /// proof).
    #[benchmark(pov_mode = Measured)]
    fn syscall_contains_storage() {
        let (mut fixture, key_ptr) = SyscallFixture::<T>::with_stored_value(abi::MAX_VALUE_LEN);
        let result;

        #[block]
        {
            result = fixture.syscall(
                "contains_storage",
                [key_ptr.into(), abi::MAX_KEY_LEN.into(), 0, 0, 0, 0],
            );
        }

        assert_eq!(result, u64::from(abi::MAX_VALUE_LEN));
    }

    /// `deposit_event` with `t` topics and `n` bytes of data.
    #[benchmark(pov_mode = Measured)]
    fn syscall_deposit_event(
        t: Linear<0, { abi::MAX_EVENT_TOPICS }>,
        n: Linear<0, { abi::MAX_EVENT_DATA_LEN }>,
    ) {
        let mut fixture = SyscallFixture::<T>::new();
        let topics = fixture.rw_data;
        let data = fixture.value(n);
        fixture.write(topics, &vec![0x74; (32 * t) as usize]);

        #[block]
        {
            fixture.syscall(
                "deposit_event",
                [topics.into(), t.into(), data.into(), n.into(), 0, 0],
            );
        }
    }

    /// `hash_blake2_256` of `n` bytes.
    #[benchmark(pov_mode = Measured)]
    fn syscall_hash_blake2_256(n: Linear<0, { abi::MAX_HASH_INPUT_LEN }>) {
        let mut fixture = SyscallFixture::<T>::new();
        let input = fixture.value(n);
        let out = fixture.rw_data;

        #[block]
        {
            fixture.syscall(
                "hash_blake2_256",
                [input.into(), n.into(), out.into(), 0, 0, 0],
            );
        }
    }

    /// `hash_keccak_256` of `n` bytes.
    #[benchmark(pov_mode = Measured)]
    fn syscall_hash_keccak_256(n: Linear<0, { abi::MAX_HASH_INPUT_LEN }>) {
        let mut fixture = SyscallFixture::<T>::new();
        let input = fixture.value(n);
        let out = fixture.rw_data;

        #[block]
        {
            fixture.syscall(
                "hash_keccak_256",
                [input.into(), n.into(), out.into(), 0, 0, 0],
            );
        }
    }

    /// `transfer` to an account that does not exist yet (it is created: the dearer case).
    #[benchmark(pov_mode = Measured)]
    fn syscall_transfer() {
        let mut fixture = SyscallFixture::<T>::new();
        funded::<T>(&fixture.frame.contract);
        let dest: T::AccountId = account("fresh", 0, 0);
        let dest_bytes: [u8; 32] = dest.clone().into();
        let amount = T::Currency::minimum_balance().saturating_mul(10u32.into());
        let amount_bytes =
            sp_runtime::traits::UniqueSaturatedInto::<u128>::unique_saturated_into(amount)
                .to_le_bytes();
        let dest_ptr = fixture.rw_data;
        let amount_ptr = fixture.value(0);
        fixture.write(dest_ptr, &dest_bytes);
        fixture.write(amount_ptr, &amount_bytes);
        let result;

        #[block]
        {
            result = fixture.syscall("transfer", [dest_ptr.into(), amount_ptr.into(), 0, 0, 0, 0]);
        }

        assert_eq!(result, 0);
        assert_eq!(T::Currency::balance(&dest), amount);
    }

    /// `balance` of the contract (a cold account read).
    #[benchmark(pov_mode = Measured)]
    fn syscall_balance() {
        let mut fixture = SyscallFixture::<T>::new();
        let out = fixture.rw_data;

        #[block]
        {
            fixture.syscall("balance", [out.into(), 0, 0, 0, 0, 0]);
        }
    }

    /// `r` syscalls of the cheapest kind (`block_number`) from a running contract: the
    /// slope over `r` is one round trip between the engine and the syscall path.
    #[benchmark(pov_mode = Measured)]
    fn syscall_round_trip(r: Linear<0, 1024>) {
        let caller = caller::<T>();
        let source = format!(
            ".isa revive_v1\n.import \"block_number\"\npub @deploy:\n jump_indirect ra, 0\npub @call:\n{}\n jump_indirect ra, 0\n",
            // Blocks end now and then: the runtime limits their length.
            (0..r)
                .map(|i| if i % 64 == 63 { " ecalli 0\n fallthrough\n" } else { " ecalli 0\n" })
                .collect::<String>()
        );
        let code = pvm_core::asm::assemble(&source)
            .expect("the generator's source assembles")
            .to_bytes()
            .expect("ReviveV1 blobs have a container form");
        let hash = stored_code::<T>(&caller, code);
        let dest = Pallet::<T>::bare_instantiate(
            caller.clone(),
            hash,
            0u32.into(),
            ample_weight(),
            no_deposit_limit::<T>(),
            Vec::new(),
            Vec::new(),
        )
        .result
        .expect("the contract instantiates")
        .contract;

        #[extrinsic_call]
        call(
            RawOrigin::Signed(caller),
            dest,
            0u32.into(),
            ample_weight(),
            no_deposit_limit::<T>(),
            Vec::new(),
        );
    }

    impl_benchmark_test_suite!(Pallet, crate::mock::new_test_ext(), crate::mock::Test);
}
