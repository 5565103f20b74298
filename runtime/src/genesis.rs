//! Genesis presets: the development chain's funded accounts.

use crate::{AccountId, BalancesConfig, RuntimeGenesisConfig, UNIT};
use alloc::{vec, vec::Vec};
use frame_support::build_struct_json_patch;
use sp_genesis_builder::{PresetId, DEV_RUNTIME_PRESET, LOCAL_TESTNET_RUNTIME_PRESET};
use sp_keyring::{Ed25519Keyring, Sr25519Keyring};

/// What each development account starts with.
pub const DEV_ENDOWMENT: crate::Balance = 1_000_000 * UNIT;

/// The well-known development accounts (Alice, Bob, Charlie, ...), with sr25519 keys as
/// wallets use them and with ed25519 keys (deterministic signatures, for tests that compare
/// whole blocks).
pub fn dev_accounts() -> Vec<AccountId> {
    Sr25519Keyring::iter()
        .map(|key| key.to_account_id())
        .chain(Ed25519Keyring::iter().map(|key| key.to_account_id()))
        .collect()
}

fn testnet_genesis(endowed: Vec<AccountId>) -> serde_json::Value {
    build_struct_json_patch!(RuntimeGenesisConfig {
        balances: BalancesConfig {
            balances: endowed
                .into_iter()
                .map(|account| (account, DEV_ENDOWMENT))
                .collect(),
        },
    })
}

/// The preset named `id`, as JSON.
pub fn preset(id: &PresetId) -> Option<Vec<u8>> {
    let patch = match id.as_ref() {
        DEV_RUNTIME_PRESET | LOCAL_TESTNET_RUNTIME_PRESET => testnet_genesis(dev_accounts()),
        _ => return None,
    };
    Some(
        serde_json::to_string(&patch)
            .expect("a JSON value serializes")
            .into_bytes(),
    )
}

/// The presets this runtime has.
pub fn preset_names() -> Vec<PresetId> {
    vec![
        PresetId::from(DEV_RUNTIME_PRESET),
        PresetId::from(LOCAL_TESTNET_RUNTIME_PRESET),
    ]
}
