//! Builds the runtime to wasm twice: contracts on the node's native engine (the default),
//! and contracts on the interpreter inside the runtime (`in-runtime-engine`). With the
//! `runtime-benchmarks` feature both carry the `Benchmark` API (`pallet-weights`).

fn main() {
    #[cfg(feature = "std")]
    {
        // Said explicitly: the builder's own forwarding of enabled features does not reach
        // this one.
        let benchmarks = std::env::var_os("CARGO_FEATURE_RUNTIME_BENCHMARKS").is_some();
        let builder = |file_name: Option<&str>, feature: Option<&str>| {
            let mut builder = substrate_wasm_builder::WasmBuilder::init_with_defaults();
            if let Some(file_name) = file_name {
                builder = builder.set_file_name(file_name);
            }
            if let Some(feature) = feature {
                builder = builder.enable_feature(feature);
            }
            if benchmarks {
                builder = builder.enable_feature("runtime-benchmarks");
            }
            builder.build();
        };
        builder(None, None);
        builder(
            Some("wasm_binary_in_runtime_engine.rs"),
            Some("in-runtime-engine"),
        );
    }
}
