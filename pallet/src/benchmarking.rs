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

use crate::abi::{CallParams, CallStatus};
use crate::exec::{Frame, Stack};
use crate::syscalls::{dispatch, Flow};
use crate::{
    abi, BalanceOf, Call, CodeInfoOf, Config, ContractInfoOf, ContractStorage, Pallet, PristineCode,
};
use alloc::{format, string::String, vec, vec::Vec};
use frame_benchmarking::v2::*;
use frame_support::traits::fungible::{Inspect, Mutate};
use frame_support::traits::{Get, Time};
use frame_support::weights::Weight;
use frame_system::RawOrigin;
use pvm_core::program::{MemoryMap, MemoryMapSizes};
use pvm_host_functions::{Engine, InstanceId};
use sp_core::H256;
use sp_runtime::traits::UniqueSaturatedInto;
use sp_runtime::Saturating;

/// The page size of the contracts' memory layout: what `instantiate_memory` and `sbrk`
/// count.
const PAGE_LEN: u32 = 4096;

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

fn to_u128<T: Config>(balance: BalanceOf<T>) -> u128 {
    balance.unique_saturated_into()
}

/// An account as contracts see it.
fn account_bytes<T: Config>(account: &T::AccountId) -> [u8; 32] {
    account.clone().into()
}

/// The most pages of memory the runtime's engine limits let one instance make accessible.
fn memory_pages<T: Config>() -> u32 {
    let bytes = Pallet::<T>::engine_limits().memory_per_instance;
    u32::try_from(bytes / u64::from(PAGE_LEN)).unwrap_or(u32::MAX)
}

/// The standard layout of a program with `rw_data_size` bytes of read-write data and
/// `stack_size` bytes of stack (and no other data).
fn memory_map(rw_data_size: u32, stack_size: u32) -> MemoryMap {
    MemoryMap::new(MemoryMapSizes {
        page_size: PAGE_LEN,
        ro_data_size: 0,
        rw_data_size,
        stack_size,
        aux_data_size: 0,
    })
    .expect("a layout within the address space")
}

/// The blob `source` assembles to.
fn assembled(source: &str) -> Vec<u8> {
    pvm_core::asm::assemble(source)
        .expect("the benchmark's source assembles")
        .to_bytes()
        .expect("contract instruction sets have a container form")
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
    assembled(&pvm_core::asm::chained_blocks_source(
        blocks as usize,
        &["deploy", "call"],
    ))
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

/// Uploads `code` as `owner` and instantiates it with `salt`: the contract's account and
/// the code's hash.
fn instantiated<T: Config>(
    owner: &T::AccountId,
    code: Vec<u8>,
    salt: Vec<u8>,
) -> (T::AccountId, H256) {
    let hash = stored_code::<T>(owner, code);
    let contract = Pallet::<T>::bare_instantiate(
        owner.clone(),
        hash,
        0u32.into(),
        ample_weight(),
        no_deposit_limit::<T>(),
        Vec::new(),
        salt,
    )
    .result
    .expect("the benchmark's contract instantiates")
    .contract;
    (contract, hash)
}

/// A contract of the smallest code, instantiated by `owner`.
fn contract<T: Config>(owner: &T::AccountId) -> T::AccountId {
    instantiated::<T>(owner, code_of_len::<T>(0), vec![1]).0
}

/// Call parameters with ample limits, sending `value` and allowing re-entry if
/// `reentry` is 1.
fn call_params<T: Config>(reentry: u32, value: BalanceOf<T>) -> CallParams {
    let limit = ample_weight();
    CallParams {
        flags: if reentry == 1 {
            abi::FLAG_ALLOW_REENTRY
        } else {
            0
        },
        ref_time_limit: limit.ref_time(),
        proof_size_limit: limit.proof_size(),
        value: to_u128::<T>(value),
        deposit_limit: to_u128::<T>(no_deposit_limit::<T>()),
    }
}

/// The value a call out sends for `t`: none for 0, enough to create an account for 1.
fn value_sent<T: Config>(t: u32) -> BalanceOf<T> {
    T::Currency::minimum_balance().saturating_mul((10 * t).into())
}

/// Read-write data of the syscall fixture's contract: the longest key and after it the
/// largest input of any syscall (a hash's) fit, and 4 KiB of small arguments.
const FIXTURE_RW_DATA: u32 = abi::MAX_KEY_LEN + abi::MAX_HASH_INPUT_LEN + 4096;

/// A contract's frame with a live instance, for calling one syscall directly (as the
/// syscall path does after the engine stops at `ecalli`), so that a benchmark measures
/// that syscall and nothing of the engine's round trip (`syscall` is benchmarked apart).
struct SyscallFixture<T: Config> {
    stack: Stack<T>,
    frame: Frame<T>,
    instance: InstanceId,
    /// The first byte of the contract's read-write data that no argument uses yet.
    free: u32,
    /// One past the contract's read-write data.
    end: u32,
}

/// A benchmark's repeats share one engine session (one runtime call), whose live instances
/// are limited: each fixture gives its instance back.
impl<T: Config> Drop for SyscallFixture<T> {
    fn drop(&mut self) {
        let _ = self.stack.engine.destroy(self.instance);
    }
}

impl<T: Config> SyscallFixture<T> {
    fn new() -> Self {
        let caller = caller::<T>();
        let code = assembled(&format!(
            ".isa revive_v1\n.rw_data_size {FIXTURE_RW_DATA}\npub @deploy:\npub @call:\n \
             jump_indirect ra, 0\n"
        ));
        let (contract, hash) = instantiated::<T>(&caller, code.clone(), Vec::new());
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
        let rw_data = memory_map(FIXTURE_RW_DATA, 0).rw_data_address;
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
            free: rw_data,
            end: rw_data + FIXTURE_RW_DATA,
        }
    }

    /// `len` bytes of guest memory no other argument uses; their address.
    fn reserve(&mut self, len: u32) -> u32 {
        let at = self.free;
        assert!(
            self.end - at >= len,
            "the fixture's read-write data holds every argument"
        );
        self.free += len;
        at
    }

    /// `bytes` written to guest memory no other argument uses; their address.
    fn put(&mut self, bytes: &[u8]) -> u32 {
        let at = self.reserve(bytes.len() as u32);
        self.write(at, bytes);
        at
    }

    /// The longest key, written to guest memory; its address.
    fn key(&mut self) -> (Vec<u8>, u32) {
        let key = vec![0x6b; abi::MAX_KEY_LEN as usize];
        let at = self.put(&key);
        (key, at)
    }

    /// `len` bytes written to guest memory; their address.
    fn value(&mut self, len: u32) -> u32 {
        self.put(&vec![0x76; len as usize])
    }

    fn write(&mut self, at: u32, bytes: &[u8]) {
        self.stack
            .engine
            .write_memory(self.instance, at, bytes)
            .expect("the fixture's memory holds it");
    }

    /// `len` bytes of guest memory at `at`.
    fn read(&mut self, at: u32, len: u32) -> Vec<u8> {
        let mut bytes = vec![0; len as usize];
        self.stack
            .engine
            .read_memory(self.instance, at, &mut bytes)
            .expect("the fixture's memory holds it");
        bytes
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

    /// Gives the contract `n` values of the largest length under distinct keys of the
    /// largest length, as `n` calls of `set_storage` followed by the end of the frame
    /// would: counted in its info, their deposit settled as a frame's end settles it (held
    /// on the contract, paid by the origin, the info stored).
    fn fill_storage(&mut self, n: u32) {
        for i in 0..n {
            let mut key = vec![0x6b; abi::MAX_KEY_LEN as usize];
            key[..4].copy_from_slice(&i.to_le_bytes());
            self.store(&key, abi::MAX_VALUE_LEN);
        }
        let info = &mut self.frame.info;
        info.storage_items += n;
        info.storage_bytes += n * (abi::MAX_KEY_LEN + abi::MAX_VALUE_LEN);
        self.stack
            .settle_deposit(&mut self.frame)
            .expect("the origin is funded");
        self.frame.stored_info = Some(self.frame.info.clone());
    }

    /// A fixture set up for the worst case of a call out: its contract funded to send
    /// value, and a value of the largest length it stored in this frame, not settled yet,
    /// which a call that allows re-entry settles first (a deposit moved, the info written,
    /// an event).
    fn calling_out() -> Self {
        let mut fixture = Self::new();
        funded::<T>(&fixture.frame.contract);
        let (_, key_ptr) = fixture.key();
        let value_ptr = fixture.value(abi::MAX_VALUE_LEN);
        let previous = fixture.syscall(
            "set_storage",
            &[key_ptr, abi::MAX_KEY_LEN, value_ptr, abi::MAX_VALUE_LEN],
        );
        assert_eq!(previous, u64::from(abi::KEY_NOT_FOUND));
        fixture
    }

    /// Compiles the stored code under `hash` in the fixture's engine, as an earlier call
    /// in the block would have: a call out to it then measures the call, not compiling
    /// (which `load_code` covers, charged whether the engine has the module or not). On a
    /// node's engine, which caches modules for a whole block, a module compiled while a
    /// benchmark is set up is cached already; this makes every engine alike.
    fn compile(&mut self, hash: H256) {
        let code = PristineCode::<T>::get(hash).expect("the code is stored");
        self.stack
            .engine
            .compile(&code, Some(hash.0), &Pallet::<T>::engine_limits())
            .expect("stored code compiles");
    }

    /// Serves `symbol` with `args` (the rest zero) as the syscall path does.
    fn dispatch(&mut self, symbol: &str, args: &[u32]) -> Flow {
        let mut registers = [0u64; 6];
        for (register, arg) in registers.iter_mut().zip(args) {
            *register = (*arg).into();
        }
        dispatch(
            &mut self.stack,
            &mut self.frame,
            self.instance,
            symbol.as_bytes(),
            registers,
        )
        .unwrap_or_else(|error| panic!("{symbol} fails: {error:?}"))
    }

    /// Serves `symbol`; what it resumes the guest with.
    fn syscall(&mut self, symbol: &str, args: &[u32]) -> u64 {
        match self.dispatch(symbol, args) {
            Flow::Resume(value) => value,
            _ => panic!("{symbol} resumes the guest"),
        }
    }

    /// Serves `symbol`, which ends the frame with an output (`return_data`): whether the
    /// frame reverted, and the output.
    fn returning(&mut self, symbol: &str, args: &[u32]) -> (bool, Vec<u8>) {
        match self.dispatch(symbol, args) {
            Flow::Return { reverted, output } => (reverted, output),
            _ => panic!("{symbol} ends the frame with an output"),
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

    /// `instantiate` of the smallest code with `i` bytes of data and a salt of the longest
    /// length (its loading is `load_code`, its running gas).
    #[benchmark(pov_mode = Measured)]
    fn instantiate(i: Linear<0, { abi::MAX_CALL_DATA_LEN }>) {
        let caller = caller::<T>();
        let hash = stored_code::<T>(&caller, code_of_len::<T>(0));
        let salt = vec![7; abi::SALT_LEN];
        let contract = Pallet::<T>::contract_address(&caller, &hash, &salt);

        #[extrinsic_call]
        _(
            RawOrigin::Signed(caller),
            T::Currency::minimum_balance(),
            ample_weight(),
            no_deposit_limit::<T>(),
            hash,
            vec![0x69; i as usize],
            salt,
        );

        assert!(ContractInfoOf::<T>::contains_key(&contract));
    }

    /// `call` of a contract of the smallest code with `i` bytes of data, sending value (a
    /// transfer, dearer than none; its loading is `load_code`, its running gas).
    #[benchmark(pov_mode = Measured)]
    fn call(i: Linear<0, { abi::MAX_CALL_DATA_LEN }>) {
        let caller = caller::<T>();
        let dest = contract::<T>(&caller);
        let value = T::Currency::minimum_balance();
        let balance_before = T::Currency::balance(&dest);

        #[extrinsic_call]
        _(
            RawOrigin::Signed(caller),
            dest.clone(),
            value,
            ample_weight(),
            no_deposit_limit::<T>(),
            vec![0x69; i as usize],
        );

        assert_eq!(T::Currency::balance(&dest), balance_before + value);
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

    /// Instantiating a compiled module whose memory is `p` pages of read-write data and
    /// stack (half each), up to all the engine limits allow, calling it prepared and
    /// destroyed: the slope is making a page accessible (zero-filled or mapped) at
    /// instantiation. Nothing is compiled in the measurement (`load_code` is).
    #[benchmark(pov_mode = Measured)]
    fn instantiate_memory(p: Linear<0, { memory_pages::<T>() }>) {
        let (rw_data, stack) = ((p - p / 2) * PAGE_LEN, p / 2 * PAGE_LEN);
        let code = assembled(&format!(
            ".isa revive_v1\n.rw_data_size {rw_data}\n.stack_size {stack}\npub @deploy:\n\
             pub @call:\n jump_indirect ra, 0\n"
        ));
        let layout = memory_map(rw_data, stack);
        let limits = Pallet::<T>::engine_limits();
        let mut engine = T::Engine::default();
        let module = engine
            .compile(&code, None, &limits)
            .expect("the module compiles")
            .module;
        let destroyed;

        #[block]
        {
            let instance = engine
                .instantiate(module, &limits)
                .expect("its memory is within the limits");
            engine
                .prepare_call(instance, abi::CALL_EXPORT.as_bytes())
                .expect("the module exports call");
            destroyed = engine.destroy(instance);
        }

        assert!(destroyed.is_ok());
        // The module's memory is what the benchmark means: its read-write data and stack
        // accessible up to their edges, nothing past them.
        let instance = engine
            .instantiate(module, &limits)
            .expect("its memory is within the limits");
        engine
            .prepare_call(instance, abi::CALL_EXPORT.as_bytes())
            .expect("the module exports call");
        let rw_end = layout.rw_data_address + rw_data;
        let stack_low = layout.stack_address_high - stack;
        let mut byte = [0];
        let mut readable = |at: u32| engine.read_memory(instance, at, &mut byte).is_ok();
        assert_eq!(readable(rw_end - 1), rw_data > 0);
        assert!(!readable(rw_end));
        assert_eq!(readable(stack_low), stack > 0);
        assert!(!readable(stack_low - 1));
    }

    /// A call whose contract grows its heap by `p` pages with one `sbrk`, up to all the
    /// engine limits allow (the contract's own memory is one page of read-write data), and
    /// writes the last byte of the new heap: the slope is the engine's work per page of
    /// heap growth, with the pages made usable (an engine that backs the heap lazily
    /// commits them all at that write). The contract traps, failing the call, if `sbrk`
    /// refuses.
    #[benchmark(pov_mode = Measured)]
    fn sbrk(p: Linear<0, { memory_pages::<T>() - 1 }>) {
        let caller = caller::<T>();
        // `sbrk` is in Latest64, not in ReviveV1. It returns the new heap top, 0 if it
        // refuses.
        let code = assembled(&format!(
            ".isa latest64\n.rw_data_size {PAGE_LEN}\npub @deploy:\n jump_indirect ra, 0\n\
             pub @call:\n load_imm a1, {}\n sbrk a0, a1\n branch_eq_imm a0, 0, @refused\n \
             store_indirect_u8 a1, a0, -1\n jump_indirect ra, 0\n@refused:\n trap\n",
            p * PAGE_LEN
        ));
        let (dest, _) = instantiated::<T>(&caller, code, Vec::new());

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

    /// `call_data_size` (of the longest call data; its cost does not depend on it).
    #[benchmark(pov_mode = Measured)]
    fn syscall_call_data_size() {
        let mut fixture = SyscallFixture::<T>::new();
        fixture.frame.call_data = vec![0x63; abi::MAX_CALL_DATA_LEN as usize];
        let result;

        #[block]
        {
            result = fixture.syscall("call_data_size", &[]);
        }

        assert_eq!(result, u64::from(abi::MAX_CALL_DATA_LEN));
    }

    /// `call_data_copy` of all `n` bytes of the call data.
    #[benchmark(pov_mode = Measured)]
    fn syscall_call_data_copy(n: Linear<0, { abi::MAX_CALL_DATA_LEN }>) {
        let mut fixture = SyscallFixture::<T>::new();
        fixture.frame.call_data = vec![0x63; n as usize];
        let out = fixture.reserve(n);
        let result;

        #[block]
        {
            result = fixture.syscall("call_data_copy", &[out, n, 0]);
        }

        assert_eq!(result, u64::from(n));
        assert_eq!(fixture.read(out, n), fixture.frame.call_data);
    }

    /// `return_data` of `n` bytes: they are read and the frame ends (reverting or not is
    /// the same work here).
    #[benchmark(pov_mode = Measured)]
    fn syscall_return_data(n: Linear<0, { abi::MAX_OUTPUT_LEN }>) {
        let mut fixture = SyscallFixture::<T>::new();
        let data = fixture.value(n);
        let result;

        #[block]
        {
            result = fixture.returning("return_data", &[0, data, n]);
        }

        assert_eq!(result, (false, vec![0x76; n as usize]));
    }

    /// `caller`: the caller's account written, 32 bytes (fixed work: there is no worse case).
    #[benchmark(pov_mode = Measured)]
    fn syscall_caller() {
        let mut fixture = SyscallFixture::<T>::new();
        let out = fixture.reserve(32);

        #[block]
        {
            fixture.syscall("caller", &[out]);
        }

        assert_eq!(
            fixture.read(out, 32),
            account_bytes::<T>(&fixture.frame.caller)
        );
    }

    /// `address`: the contract's account written, 32 bytes (fixed work: there is no worse case).
    #[benchmark(pov_mode = Measured)]
    fn syscall_address() {
        let mut fixture = SyscallFixture::<T>::new();
        let out = fixture.reserve(32);

        #[block]
        {
            fixture.syscall("address", &[out]);
        }

        assert_eq!(
            fixture.read(out, 32),
            account_bytes::<T>(&fixture.frame.contract)
        );
    }

    /// `origin`: the origin's account written, 32 bytes (fixed work: there is no worse case).
    #[benchmark(pov_mode = Measured)]
    fn syscall_origin() {
        let mut fixture = SyscallFixture::<T>::new();
        let out = fixture.reserve(32);

        #[block]
        {
            fixture.syscall("origin", &[out]);
        }

        assert_eq!(
            fixture.read(out, 32),
            account_bytes::<T>(&fixture.stack.origin)
        );
    }

    /// `value_transferred`: the value written, 16 bytes (fixed work: there is no worse case).
    #[benchmark(pov_mode = Measured)]
    fn syscall_value_transferred() {
        let mut fixture = SyscallFixture::<T>::new();
        fixture.frame.value = value_sent::<T>(1);
        let out = fixture.reserve(16);

        #[block]
        {
            fixture.syscall("value_transferred", &[out]);
        }

        assert_eq!(
            fixture.read(out, 16),
            to_u128::<T>(fixture.frame.value).to_le_bytes()
        );
    }

    /// `block_number` (fixed work: there is no worse case).
    #[benchmark(pov_mode = Measured)]
    fn syscall_block_number() {
        let mut fixture = SyscallFixture::<T>::new();
        frame_system::Pallet::<T>::set_block_number(1234u32.into());
        let result;

        #[block]
        {
            result = fixture.syscall("block_number", &[]);
        }

        assert_eq!(result, 1234);
    }

    /// `now`: the timestamp, read from the runtime's `Time` (fixed work).
    #[benchmark(pov_mode = Measured)]
    fn syscall_now() {
        let mut fixture = SyscallFixture::<T>::new();
        let result;

        #[block]
        {
            result = fixture.syscall("now", &[]);
        }

        let now: u64 = T::Time::now().unique_saturated_into();
        assert_eq!(result, now);
    }

    /// `gas_left` (fixed work: there is no worse case).
    #[benchmark(pov_mode = Measured)]
    fn syscall_gas_left() {
        let mut fixture = SyscallFixture::<T>::new();
        let result;

        #[block]
        {
            result = fixture.syscall("gas_left", &[]);
        }

        assert_eq!(result, fixture.stack.gas.gas_left());
    }

    /// `get_storage` of a cold value of `n` bytes under the longest key, copied out whole.
    #[benchmark(pov_mode = Measured)]
    fn syscall_get_storage(n: Linear<0, { abi::MAX_VALUE_LEN }>) {
        let (mut fixture, key_ptr) = SyscallFixture::<T>::with_stored_value(n);
        let out = fixture.reserve(abi::MAX_VALUE_LEN);
        let result;

        #[block]
        {
            result = fixture.syscall(
                "get_storage",
                &[key_ptr, abi::MAX_KEY_LEN, out, abi::MAX_VALUE_LEN],
            );
        }

        assert_eq!(result, u64::from(n));
        assert_eq!(fixture.read(out, n), vec![0x76; n as usize]);
    }

    /// `set_storage` of `n` bytes under the longest key over a cold value of `o` bytes
    /// (read whole for the deposit accounting): the weight is charged for the largest
    /// `o` first and refunded to the real one after.
    #[benchmark(pov_mode = Measured)]
    fn syscall_set_storage(
        n: Linear<0, { abi::MAX_VALUE_LEN }>,
        o: Linear<0, { abi::MAX_VALUE_LEN }>,
    ) {
        let (mut fixture, key_ptr) = SyscallFixture::<T>::with_stored_value(o);
        let value = fixture.value(n);
        let result;

        #[block]
        {
            result = fixture.syscall("set_storage", &[key_ptr, abi::MAX_KEY_LEN, value, n]);
        }

        assert_eq!(result, u64::from(o));
        let key = fixture.read(key_ptr, abi::MAX_KEY_LEN);
        assert_eq!(
            Pallet::<T>::get_storage(&fixture.frame.contract, &key),
            Some(vec![0x76; n as usize])
        );
    }

    /// `clear_storage` of a cold value of `o` bytes under the longest key (read whole for
    /// the deposit accounting).
    #[benchmark(pov_mode = Measured)]
    fn syscall_clear_storage(o: Linear<0, { abi::MAX_VALUE_LEN }>) {
        let (mut fixture, key_ptr) = SyscallFixture::<T>::with_stored_value(o);
        let result;

        #[block]
        {
            result = fixture.syscall("clear_storage", &[key_ptr, abi::MAX_KEY_LEN]);
        }

        assert_eq!(result, u64::from(o));
        let key = fixture.read(key_ptr, abi::MAX_KEY_LEN);
        assert_eq!(
            Pallet::<T>::get_storage(&fixture.frame.contract, &key),
            None
        );
    }

    /// `contains_storage` of a cold value of `o` bytes under the longest key (all of it
    /// enters the proof).
    #[benchmark(pov_mode = Measured)]
    fn syscall_contains_storage(o: Linear<0, { abi::MAX_VALUE_LEN }>) {
        let (mut fixture, key_ptr) = SyscallFixture::<T>::with_stored_value(o);
        let result;

        #[block]
        {
            result = fixture.syscall("contains_storage", &[key_ptr, abi::MAX_KEY_LEN]);
        }

        assert_eq!(result, u64::from(o));
    }

    /// `deposit_event` with `t` topics and `n` bytes of data.
    #[benchmark(pov_mode = Measured)]
    fn syscall_deposit_event(
        t: Linear<0, { abi::MAX_EVENT_TOPICS }>,
        n: Linear<0, { abi::MAX_EVENT_DATA_LEN }>,
    ) {
        let mut fixture = SyscallFixture::<T>::new();
        let topics = fixture.put(&vec![0x74; (32 * t) as usize]);
        let data = fixture.value(n);
        let events_before = frame_system::Pallet::<T>::event_count();

        #[block]
        {
            fixture.syscall("deposit_event", &[topics, t, data, n]);
        }

        assert_eq!(frame_system::Pallet::<T>::event_count(), events_before + 1);
    }

    /// `hash_blake2_256` of `n` bytes.
    #[benchmark(pov_mode = Measured)]
    fn syscall_hash_blake2_256(n: Linear<0, { abi::MAX_HASH_INPUT_LEN }>) {
        let mut fixture = SyscallFixture::<T>::new();
        let input = fixture.value(n);
        let out = fixture.reserve(32);

        #[block]
        {
            fixture.syscall("hash_blake2_256", &[input, n, out]);
        }

        assert_eq!(
            fixture.read(out, 32),
            sp_io::hashing::blake2_256(&vec![0x76; n as usize])
        );
    }

    /// `hash_keccak_256` of `n` bytes.
    #[benchmark(pov_mode = Measured)]
    fn syscall_hash_keccak_256(n: Linear<0, { abi::MAX_HASH_INPUT_LEN }>) {
        let mut fixture = SyscallFixture::<T>::new();
        let input = fixture.value(n);
        let out = fixture.reserve(32);

        #[block]
        {
            fixture.syscall("hash_keccak_256", &[input, n, out]);
        }

        assert_eq!(
            fixture.read(out, 32),
            sp_io::hashing::keccak_256(&vec![0x76; n as usize])
        );
    }

    /// `transfer` to an account that does not exist yet (it is created: the dearer case).
    #[benchmark(pov_mode = Measured)]
    fn syscall_transfer() {
        let mut fixture = SyscallFixture::<T>::new();
        funded::<T>(&fixture.frame.contract);
        let dest: T::AccountId = account("fresh", 0, 0);
        let amount = value_sent::<T>(1);
        let dest_ptr = fixture.put(&account_bytes::<T>(&dest));
        let amount_ptr = fixture.put(&to_u128::<T>(amount).to_le_bytes());
        let result;

        #[block]
        {
            result = fixture.syscall("transfer", &[dest_ptr, amount_ptr]);
        }

        assert_eq!(result, 0);
        assert_eq!(T::Currency::balance(&dest), amount);
    }

    /// `balance` of the contract (a cold account read).
    #[benchmark(pov_mode = Measured)]
    fn syscall_balance() {
        let mut fixture = SyscallFixture::<T>::new();
        let out = fixture.reserve(16);

        #[block]
        {
            fixture.syscall("balance", &[out]);
        }

        let balance = T::Currency::balance(&fixture.frame.contract);
        assert_eq!(fixture.read(out, 16), to_u128::<T>(balance).to_le_bytes());
    }

    /// `call` of a contract of the smallest code (whose `call` returns at once) with `i`
    /// bytes of input, sending value if `t` is 1 and allowing re-entry if `r` is 1, which
    /// first settles a storage change of the caller's frame. The callee's code is
    /// compiled already ([`SyscallFixture::compile`]); reading it, instantiating and
    /// running it are in the measurement (charged apart too, as `load_code` and gas).
    #[benchmark(pov_mode = Measured)]
    fn syscall_call(t: Linear<0, 1>, r: Linear<0, 1>, i: Linear<0, { abi::MAX_CALL_DATA_LEN }>) {
        let mut fixture = SyscallFixture::<T>::calling_out();
        let (callee, hash) = instantiated::<T>(&fixture.stack.origin, code_of_len::<T>(0), vec![1]);
        fixture.compile(hash);
        let value = value_sent::<T>(t);
        let callee_ptr = fixture.put(&account_bytes::<T>(&callee));
        let params_ptr = fixture.put(&call_params::<T>(r, value).encode());
        let input_ptr = fixture.value(i);
        let output_len_ptr = fixture.put(&0u32.to_le_bytes());
        let output_ptr = fixture.reserve(0);
        let balance_before = T::Currency::balance(&callee);
        let result;

        #[block]
        {
            result = fixture.syscall(
                "call",
                &[
                    callee_ptr,
                    params_ptr,
                    input_ptr,
                    i,
                    output_ptr,
                    output_len_ptr,
                ],
            );
        }

        assert_eq!(result, u64::from(CallStatus::Success.code()));
        assert_eq!(T::Currency::balance(&callee), balance_before + value);
        let settled =
            ContractInfoOf::<T>::get(&fixture.frame.contract) == Some(fixture.frame.info.clone());
        assert_eq!(settled, r == 1);
    }

    /// `instantiate` of the smallest code (whose `deploy` returns at once) with `i` bytes
    /// of input and a 32-byte salt, creating a contract funded with the existential
    /// deposit and the value (if `t` is 1), allowing re-entry if `r` is 1, which first
    /// settles a storage change of the caller's frame. The code is compiled already
    /// ([`SyscallFixture::compile`]); reading it, instantiating and running it are in the
    /// measurement (charged apart too, as `load_code` and gas).
    #[benchmark(pov_mode = Measured)]
    fn syscall_instantiate(
        t: Linear<0, 1>,
        r: Linear<0, 1>,
        i: Linear<0, { abi::MAX_CALL_DATA_LEN }>,
    ) {
        let mut fixture = SyscallFixture::<T>::calling_out();
        let hash = stored_code::<T>(&fixture.stack.origin, code_of_len::<T>(0));
        fixture.compile(hash);
        let value = value_sent::<T>(t);
        let salt = [0x73; abi::SALT_LEN];
        let created = Pallet::<T>::contract_address(&fixture.frame.contract, &hash, &salt);
        let hash_ptr = fixture.put(hash.as_bytes());
        let params_ptr = fixture.put(&call_params::<T>(r, value).encode());
        let input_ptr = fixture.value(i);
        let salt_ptr = fixture.put(&salt);
        let address_ptr = fixture.reserve(32);
        let result;

        #[block]
        {
            result = fixture.syscall(
                "instantiate",
                &[hash_ptr, params_ptr, input_ptr, i, salt_ptr, address_ptr],
            );
        }

        assert_eq!(result, u64::from(CallStatus::Success.code()));
        assert_eq!(fixture.read(address_ptr, 32), account_bytes::<T>(&created));
        assert!(ContractInfoOf::<T>::contains_key(&created));
        assert_eq!(
            T::Currency::balance(&created),
            T::Currency::minimum_balance() + value
        );
        let settled =
            ContractInfoOf::<T>::get(&fixture.frame.contract) == Some(fixture.frame.info.clone());
        assert_eq!(settled, r == 1);
    }

    /// `terminate` of a contract holding `n` values of the largest length under keys of
    /// the largest length (all deleted), its deposit for them released to the origin and
    /// its balance paid to an account that does not exist yet (it is created).
    #[benchmark(pov_mode = Measured)]
    fn syscall_terminate(n: Linear<0, 256>) {
        let mut fixture = SyscallFixture::<T>::new();
        fixture.fill_storage(n);
        let contract = fixture.frame.contract.clone();
        let beneficiary: T::AccountId = account("beneficiary", 0, 0);
        let beneficiary_ptr = fixture.put(&account_bytes::<T>(&beneficiary));
        let payout = T::Currency::balance(&contract);
        let flow;

        #[block]
        {
            flow = fixture.dispatch("terminate", &[beneficiary_ptr]);
        }

        assert!(matches!(flow, Flow::Terminated));
        assert!(!ContractInfoOf::<T>::contains_key(&contract));
        assert_eq!(ContractStorage::<T>::iter_prefix(&contract).count(), 0);
        assert_eq!(T::Currency::balance(&beneficiary), payout);
    }

    /// `r` syscalls of the cheapest kind (`block_number`) from a running contract: the
    /// slope over `r` is one round trip between the engine and the syscall path.
    #[benchmark(pov_mode = Measured)]
    fn syscall_round_trip(r: Linear<0, 1024>) {
        let caller = caller::<T>();
        let code = assembled(&format!(
            ".isa revive_v1\n.import \"block_number\"\npub @deploy:\n jump_indirect ra, 0\npub @call:\n{}\n jump_indirect ra, 0\n",
            // Blocks end now and then: the runtime limits their length.
            (0..r)
                .map(|i| if i % 64 == 63 { " ecalli 0\n fallthrough\n" } else { " ecalli 0\n" })
                .collect::<String>()
        ));
        let (dest, _) = instantiated::<T>(&caller, code, Vec::new());

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
