use std::env;

const USER_AGENT: &str = "acme-edge/1.4";
static UPSTREAM_TOKEN: &str = "XhpKIcaqFjt96TvP3iBdbI3TovV6OdfbeqgtmeGU";

fn main() {
    let token = env::var("EDGE_TOKEN").unwrap_or_else(|_| UPSTREAM_TOKEN.to_string());
    let secret_name = "edge-upstream";
    println!("{} {} {}", USER_AGENT, token.len(), secret_name);
}
