//! The command lines of the comparison binaries: `--flag value` pairs and switches, read
//! in one way so that every binary words its errors alike.

use anyhow::{Context, Result};
use std::path::PathBuf;
use std::str::FromStr;

/// Walks a command line flag by flag; a flag that takes a value reads it with
/// [`value`](Self::value), [`number`](Self::number) or [`path`](Self::path).
pub struct Flags<'a> {
    rest: std::slice::Iter<'a, String>,
}

impl<'a> Flags<'a> {
    /// The flags of `raw` (the arguments after the program's name).
    pub fn new(raw: &'a [String]) -> Flags<'a> {
        Flags { rest: raw.iter() }
    }

    /// The next flag, or `None` at the end.
    pub fn next_flag(&mut self) -> Option<&'a str> {
        self.rest.next().map(String::as_str)
    }

    /// The value after `flag`.
    pub fn value(&mut self, flag: &str) -> Result<&'a str> {
        self.rest
            .next()
            .map(String::as_str)
            .with_context(|| format!("{flag} needs a value"))
    }

    /// The value after `flag`, as a number.
    pub fn number<T>(&mut self, flag: &str) -> Result<T>
    where
        T: FromStr,
        T::Err: std::error::Error + Send + Sync + 'static,
    {
        let text = self.value(flag)?;
        text.parse()
            .with_context(|| format!("{flag}: {text:?} is not a number"))
    }

    /// The value after `flag`, as a path.
    pub fn path(&mut self, flag: &str) -> Result<PathBuf> {
        self.value(flag).map(PathBuf::from)
    }
}

#[cfg(test)]
mod tests {
    use super::Flags;

    fn strings(words: &[&str]) -> Vec<String> {
        words.iter().map(|word| word.to_string()).collect()
    }

    #[test]
    fn reads_switches_values_and_numbers_in_order() {
        let raw = strings(&["--quiet", "--rounds", "7", "--out", "a.md"]);
        let mut flags = Flags::new(&raw);
        assert_eq!(flags.next_flag(), Some("--quiet"));
        assert_eq!(flags.next_flag(), Some("--rounds"));
        assert_eq!(flags.number::<u32>("--rounds").unwrap(), 7);
        assert_eq!(flags.next_flag(), Some("--out"));
        assert_eq!(flags.path("--out").unwrap().to_str(), Some("a.md"));
        assert_eq!(flags.next_flag(), None);
    }

    #[test]
    fn names_the_flag_when_its_value_is_missing_or_not_a_number() {
        let raw = strings(&["--rounds", "many"]);
        let mut flags = Flags::new(&raw);
        flags.next_flag();
        let error = flags.number::<usize>("--rounds").unwrap_err().to_string();
        assert!(
            error.starts_with("--rounds: \"many\" is not a number"),
            "{error}"
        );
        let error = flags.value("--out").unwrap_err().to_string();
        assert_eq!(error, "--out needs a value");
    }
}
