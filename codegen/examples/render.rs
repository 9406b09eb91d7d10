//! Prints the single-file rendering of a spec directory (a debugging aid).
fn main() {
    let dir = std::env::args().nth(1).expect("usage: render SPEC_DIR");
    let files = gumloop_mcp_codegen::SpecFiles::read_dir(std::path::Path::new(&dir), "spec").unwrap();
    let spec = gumloop_mcp_codegen::load::load(&files).unwrap_or_else(|e| panic!("{e}"));
    gumloop_mcp_codegen::validate::validate(&spec).unwrap_or_else(|e| panic!("{e}"));
    let model = gumloop_mcp_codegen::lower::lower(&spec).unwrap();
    println!("{}", gumloop_mcp_codegen::emit::single_file(&model).unwrap());
}
