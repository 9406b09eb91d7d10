// placeholder until `cargo xtask codegen` runs
pub static ALL_TOOLS: &[&crate::runtime::ToolDescriptor] = &[];
pub static INTEGRATION: crate::runtime::Integration = crate::runtime::Integration {
    name: "gumloop", title: "Gumloop",
    api_base_url: "https://api.gumloop.com/api/v1", ws_base_url: "https://ws.gumloop.com/api/v1",
    bearer: true, user_header: Some("x-auth-key"), team_query: Some("team_id"),
};
