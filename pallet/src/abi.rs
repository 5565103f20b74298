#![doc = include_str!("abi.md")]

/// `get_storage`, `set_storage`, `clear_storage` and `contains_storage` return this when
/// the key has no value.
pub const KEY_NOT_FOUND: u32 = u32::MAX;
/// `transfer` returns this when the transfer was refused.
pub const TRANSFER_FAILED: u32 = 1;
/// `return_data` flag: roll back the frame's state changes.
pub const FLAG_REVERT: u32 = 1;

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

/// The export `instantiate` runs.
pub const DEPLOY_EXPORT: &str = "deploy";
/// The export `call` runs.
pub const CALL_EXPORT: &str = "call";

macro_rules! syscalls {
    ($($variant:ident => $symbol:literal,)*) => {
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
        }
    };
}

syscalls! {
    CallDataSize => "call_data_size",
    CallDataCopy => "call_data_copy",
    ReturnData => "return_data",
    GetStorage => "get_storage",
    SetStorage => "set_storage",
    ClearStorage => "clear_storage",
    ContainsStorage => "contains_storage",
    Caller => "caller",
    Address => "address",
    ValueTransferred => "value_transferred",
    Balance => "balance",
    Transfer => "transfer",
    BlockNumber => "block_number",
    Now => "now",
    GasLeft => "gas_left",
    DepositEvent => "deposit_event",
    HashBlake2_256 => "hash_blake2_256",
    HashKeccak256 => "hash_keccak_256",
}
