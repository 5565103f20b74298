//! Prints the native result and time of corpus calls, for writing down expected results:
//!
//! ```text
//! cargo run --release -p pvm-corpus-native --example results -- PROGRAM EXPORT ARG [PROGRAM EXPORT ARG ...]
//! ```

use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.is_empty() || !args.len().is_multiple_of(3) {
        eprintln!("usage: results PROGRAM EXPORT ARG [PROGRAM EXPORT ARG ...]");
        std::process::exit(2);
    }
    for call in args.chunks(3) {
        let arg: u32 = call[2].parse().expect("ARG is a u32");
        let start = Instant::now();
        match pvm_corpus_native::run(&call[0], &call[1], arg) {
            Some(result) => println!(
                "{} {}({arg}) = {result:#018x}  ({:?} native)",
                call[0],
                call[1],
                start.elapsed()
            ),
            None => println!("{} has no export {:?}", call[0], call[1]),
        }
    }
}
