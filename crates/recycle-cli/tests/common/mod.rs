//! What the CLI test binaries share.

use std::process::Command;

/// Runs the `recycle` binary with `args`: (succeeded, stdout, stderr).
pub(crate) fn recycle(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_recycle"))
        .args(args)
        .output()
        .unwrap();
    let text = |b: Vec<u8>| String::from_utf8(b).unwrap();
    (out.status.success(), text(out.stdout), text(out.stderr))
}
