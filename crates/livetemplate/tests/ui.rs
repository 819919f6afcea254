//! Compile-time behaviour of `#[derive(LiveState)]` and `#[actions]`: the `pass` cases must
//! build and run (their `main` checks the generated code), the `fail` cases must be rejected
//! with the messages in their `.stderr` files.
//!
//! Compiler messages change between compiler versions, so the `.stderr` files are checked
//! only on the compiler they were blessed with (the `rustversion` gate below); on another one
//! the test is ignored. To re-bless on a new compiler: `TRYBUILD=overwrite cargo test -p
//! livetemplate --test ui -- --include-ignored`, then move the version in the gate.

use std::path::Path;

/// trybuild compiles the cases in its own project under the target directory, and the derive
/// looks for templates under that project's `templates/`; copy ours there.
fn stage_templates() {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    // `CARGO_TARGET_TMPDIR` is `<target dir>/tmp`, whatever the target directory is.
    let target = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("CARGO_TARGET_TMPDIR is inside the target directory");
    let dest = target.join("tests/trybuild/livetemplate/templates");
    std::fs::create_dir_all(&dest).expect("create the trybuild templates directory");
    let src = manifest.join("tests/ui/templates");
    for entry in std::fs::read_dir(&src).expect("read tests/ui/templates") {
        let path = entry.expect("list a template").path();
        if path.is_file() {
            let name = path.file_name().expect("a template has a file name");
            std::fs::copy(&path, dest.join(name)).expect("copy a template");
        }
    }
}

#[rustversion::attr(
    not(stable(1.95)),
    ignore = "the .stderr files were blessed with rustc 1.95; see the module docs to re-bless"
)]
#[test]
fn ui() {
    stage_templates();
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    t.compile_fail("tests/ui/fail/*.rs");
}
