//! Misuse that the type system stops, proved by compile-fail tests.
// Miri cannot run rustc; these tests check compile errors, not runtime code.
#![cfg(not(miri))]

#[test]
fn compile_fail() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
