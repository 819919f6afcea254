//! Compile-time behaviour of `#[derive(LiveState)]` and `#[actions]`: the `pass` cases must
//! build and run (their `main` checks the generated code), the `fail` cases must be rejected
//! with the messages in their `.stderr` files. Regenerate those with `TRYBUILD=overwrite`.

use std::path::{Path, PathBuf};

/// trybuild compiles the cases in its own project under the target directory, and the derive
/// looks for templates under that project's `templates/`; copy ours there.
fn stage_templates() {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest.join("../../target"));
    let dest = target.join("tests/trybuild/livetemplate-macros/templates");
    std::fs::create_dir_all(&dest).expect("create the trybuild templates directory");
    let src = manifest.join("templates");
    for entry in std::fs::read_dir(&src).expect("read crates/livetemplate-macros/templates") {
        let path = entry.expect("list a template").path();
        if path.is_file() {
            let name = path.file_name().expect("a template has a file name");
            std::fs::copy(&path, dest.join(name)).expect("copy a template");
        }
    }
}

#[test]
fn ui() {
    stage_templates();
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    t.compile_fail("tests/ui/fail/*.rs");
}
