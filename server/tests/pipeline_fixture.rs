//! The pipeline tests' fixture module (`fixtures/pipeline.rs`) is what codegen makes of
//! the fixture spec (`fixtures/pipeline/`). A test binary of its own, so it runs (and
//! regenerates with `EXPECTORATE=overwrite`) even when a stale fixture would not compile.

use std::path::Path;

#[test]
fn the_fixture_module_is_generated_from_the_fixture_spec() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pipeline");
    let files = gumloop_mcp_codegen::SpecFiles::read_dir(&dir, "spec").unwrap();
    let spec = gumloop_mcp_codegen::load::load(&files).unwrap();
    gumloop_mcp_codegen::validate::validate(&spec).unwrap();
    let model = gumloop_mcp_codegen::lower::lower(&spec).unwrap();
    expectorate::assert_contents("tests/fixtures/pipeline.rs", &gumloop_mcp_codegen::emit::single_file(&model).unwrap());
}
