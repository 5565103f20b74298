//! The development chain specs: one per runtime variant.

use crate::cli::RuntimeVariant;
use sc_service::{ChainType, Properties};

/// A chain spec of `pvm-runtime`: the genesis is the runtime's own preset.
pub type ChainSpec = sc_service::GenericChainSpec;

/// The development chain of `variant`: the development accounts (Alice, Bob, ... with
/// sr25519 and ed25519 keys) endowed by the runtime's `development` preset.
pub fn development(variant: RuntimeVariant) -> Result<ChainSpec, String> {
    let (code, name, id) = match variant {
        RuntimeVariant::NativeEngine => (pvm_runtime::WASM_BINARY, "Development", "dev"),
        RuntimeVariant::InRuntimeEngine => (
            pvm_runtime::in_runtime_engine::WASM_BINARY,
            "Development (in-runtime engine)",
            // Another id, so the two variants never share a database directory.
            "dev_in_runtime_engine",
        ),
    };
    let code = code.ok_or("the runtime's wasm was not built (SKIP_WASM_BUILD is set?)")?;
    let mut properties = Properties::new();
    properties.insert("tokenDecimals".into(), 12.into());
    properties.insert("tokenSymbol".into(), "UNIT".into());
    properties.insert("ss58Format".into(), 42.into());
    Ok(ChainSpec::builder(code, Default::default())
        .with_name(name)
        .with_id(id)
        .with_chain_type(ChainType::Development)
        .with_genesis_config_preset_name(sp_genesis_builder::DEV_RUNTIME_PRESET)
        .with_properties(properties)
        .build())
}
