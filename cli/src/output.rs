//! Writing command output to stdout without panicking when the reader goes away
//! (`pvm disasm blob | head`).

use std::io::{self, Write};

/// Writes `text` to stdout and flushes; a closed pipe counts as success (the reader has
/// what it wanted), any other failure is returned.
pub fn print(text: &str) -> io::Result<()> {
    let mut stdout = io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(error) if error.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        result => result,
    }
}
