#![doc = include_str!("abi.md")]

/// `get_storage`, `set_storage`, `clear_storage` and `contains_storage` return this when
/// the key has no value.
pub const KEY_NOT_FOUND: u32 = u32::MAX;
/// `transfer` returns this when the transfer was refused.
pub const TRANSFER_FAILED: u32 = 1;
/// `return_data` flag: roll back the frame's state changes.
pub const FLAG_REVERT: u32 = 1;
/// Call-parameter flag of `call` and `instantiate`: the calling contract may be re-entered
/// (called again, by anyone, itself included) until the call returns.
pub const FLAG_ALLOW_REENTRY: u64 = 1;
/// The length of the call parameters `call` and `instantiate` read ([`CallParams`]).
pub const CALL_PARAMS_LEN: usize = 56;
/// The length of the salt `instantiate` reads.
pub const SALT_LEN: usize = 32;

/// The longest storage key.
pub const MAX_KEY_LEN: u32 = 128;
/// The longest storage value.
pub const MAX_VALUE_LEN: u32 = 16 * 1024;
/// The longest output of `return_data`.
pub const MAX_OUTPUT_LEN: u32 = 16 * 1024;
/// The longest call data.
pub const MAX_CALL_DATA_LEN: u32 = 16 * 1024;
/// The most topics of one event.
pub const MAX_EVENT_TOPICS: u32 = 4;
/// The longest event data.
pub const MAX_EVENT_DATA_LEN: u32 = 4 * 1024;
/// The longest input of a hash syscall.
pub const MAX_HASH_INPUT_LEN: u32 = 64 * 1024;

/// The call parameters of `call` and `instantiate`, as the guest lays them out in memory
/// ([`CALL_PARAMS_LEN`] bytes, integers little-endian).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct CallParams {
    /// Bytes 0..8: flags; [`FLAG_ALLOW_REENTRY`] is the only one defined.
    pub flags: u64,
    /// Bytes 8..16: the most `ref_time` the callee may use (capped at what the caller has).
    pub ref_time_limit: u64,
    /// Bytes 16..24: the most `proof_size` the callee may use (capped likewise).
    pub proof_size_limit: u64,
    /// Bytes 24..40: the value sent from the caller to the callee.
    pub value: u128,
    /// Bytes 40..56: the most storage deposit the callee may charge the origin (capped at
    /// what the caller may still charge).
    pub deposit_limit: u128,
}

impl CallParams {
    /// Reads the parameters from their memory layout; `None` when a flag bit other than
    /// [`FLAG_ALLOW_REENTRY`] is set.
    pub fn decode(bytes: &[u8; CALL_PARAMS_LEN]) -> Option<CallParams> {
        let u64_at = |at: usize| {
            let mut word = [0; 8];
            word.copy_from_slice(&bytes[at..at + 8]);
            u64::from_le_bytes(word)
        };
        let u128_at = |at: usize| {
            let mut word = [0; 16];
            word.copy_from_slice(&bytes[at..at + 16]);
            u128::from_le_bytes(word)
        };
        let params = CallParams {
            flags: u64_at(0),
            ref_time_limit: u64_at(8),
            proof_size_limit: u64_at(16),
            value: u128_at(24),
            deposit_limit: u128_at(40),
        };
        (params.flags & !FLAG_ALLOW_REENTRY == 0).then_some(params)
    }

    /// The memory layout of the parameters.
    pub fn encode(&self) -> [u8; CALL_PARAMS_LEN] {
        let mut bytes = [0; CALL_PARAMS_LEN];
        bytes[0..8].copy_from_slice(&self.flags.to_le_bytes());
        bytes[8..16].copy_from_slice(&self.ref_time_limit.to_le_bytes());
        bytes[16..24].copy_from_slice(&self.proof_size_limit.to_le_bytes());
        bytes[24..40].copy_from_slice(&self.value.to_le_bytes());
        bytes[40..56].copy_from_slice(&self.deposit_limit.to_le_bytes());
        bytes
    }

    /// Whether the caller allows being re-entered during the call.
    pub fn allows_reentry(&self) -> bool {
        self.flags & FLAG_ALLOW_REENTRY != 0
    }
}

/// What `call` and `instantiate` return in `a0`: how the callee's frame ended. Anything but
/// [`CallStatus::Success`] means the callee's state changes (and the value sent) were
/// rolled back; the caller goes on either way.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u32)]
pub enum CallStatus {
    /// The callee returned; its changes stand.
    Success = 0,
    /// The callee reverted (`return_data` with the revert flag); its output is still
    /// copied.
    Reverted = 1,
    /// The callee trapped (a `trap`, a fault, or a syscall it called wrongly).
    Trapped = 2,
    /// The callee used up its weight limit.
    OutOfGas = 3,
    /// The value could not be sent: the caller's balance is too low (it keeps the
    /// existential deposit), or the callee would stay below the existential deposit.
    TransferFailed = 4,
    /// The callee's storage deposit exceeds its deposit limit.
    DepositLimitExhausted = 5,
    /// The origin cannot pay the storage deposit the callee needs.
    DepositNotEnoughFunds = 6,
    /// `call`: no contract at the address; `instantiate`: no code under the hash.
    NotFound = 7,
    /// The callee would be one frame more than the runtime's `MaxCallDepth`.
    CallDepthExceeded = 8,
    /// The callee has a frame on the stack that does not allow re-entry.
    ReentranceDenied = 9,
    /// `instantiate`: a contract already lives at the derived address.
    AlreadyExists = 10,
}

impl CallStatus {
    /// Every status.
    pub const ALL: [CallStatus; 11] = [
        CallStatus::Success,
        CallStatus::Reverted,
        CallStatus::Trapped,
        CallStatus::OutOfGas,
        CallStatus::TransferFailed,
        CallStatus::DepositLimitExhausted,
        CallStatus::DepositNotEnoughFunds,
        CallStatus::NotFound,
        CallStatus::CallDepthExceeded,
        CallStatus::ReentranceDenied,
        CallStatus::AlreadyExists,
    ];

    /// The code in `a0`.
    pub fn code(self) -> u32 {
        self as u32
    }

    /// The status a code stands for.
    pub fn from_code(code: u32) -> Option<CallStatus> {
        CallStatus::ALL
            .into_iter()
            .find(|status| status.code() == code)
    }
}

/// The export `instantiate` runs.
pub const DEPLOY_EXPORT: &str = "deploy";
/// The export `call` runs.
pub const CALL_EXPORT: &str = "call";

macro_rules! syscalls {
    ($($variant:ident => $symbol:literal, $benchmark:ident;)*) => {
        /// Every syscall of the ABI, named by its import symbol.
        #[derive(Copy, Clone, PartialEq, Eq, Debug)]
        pub enum Syscall {
            $(
                #[doc = concat!("`", $symbol, "`")]
                $variant,
            )*
        }

        impl Syscall {
            /// Every syscall.
            pub const ALL: &'static [Syscall] = &[$(Syscall::$variant,)*];

            /// The syscall an import symbol names, if any.
            pub fn from_symbol(symbol: &[u8]) -> Option<Syscall> {
                $(
                    if symbol == $symbol.as_bytes() {
                        return Some(Syscall::$variant);
                    }
                )*
                None
            }

            /// The import symbol.
            pub fn symbol(self) -> &'static str {
                match self {
                    $(Syscall::$variant => $symbol,)*
                }
            }

            /// The benchmark that measures the syscall, and so the
            /// [`WeightInfo`](crate::weights::WeightInfo) function its
            /// [`RuntimeCost`](crate::costs::RuntimeCost) charges.
            pub fn benchmark(self) -> &'static str {
                match self {
                    $(Syscall::$variant => stringify!($benchmark),)*
                }
            }
        }
    };
}

// One row per syscall: its variant, import symbol and benchmark (its cost).
syscalls! {
    CallDataSize => "call_data_size", syscall_call_data_size;
    CallDataCopy => "call_data_copy", syscall_call_data_copy;
    ReturnData => "return_data", syscall_return_data;
    GetStorage => "get_storage", syscall_get_storage;
    SetStorage => "set_storage", syscall_set_storage;
    ClearStorage => "clear_storage", syscall_clear_storage;
    ContainsStorage => "contains_storage", syscall_contains_storage;
    Caller => "caller", syscall_caller;
    Address => "address", syscall_address;
    ValueTransferred => "value_transferred", syscall_value_transferred;
    Balance => "balance", syscall_balance;
    Transfer => "transfer", syscall_transfer;
    BlockNumber => "block_number", syscall_block_number;
    Now => "now", syscall_now;
    GasLeft => "gas_left", syscall_gas_left;
    DepositEvent => "deposit_event", syscall_deposit_event;
    HashBlake2_256 => "hash_blake2_256", syscall_hash_blake2_256;
    HashKeccak256 => "hash_keccak_256", syscall_hash_keccak_256;
    Origin => "origin", syscall_origin;
    Call => "call", syscall_call;
    Instantiate => "instantiate", syscall_instantiate;
    Terminate => "terminate", syscall_terminate;
}
