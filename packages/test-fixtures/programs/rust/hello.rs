// The smallest real Rust std program: println!, args, and an exit status.
fn main() {
    let args: Vec<String> = std::env::args().collect();
    println!("hello from Rust, {} args", args.len());
    std::process::exit(args.get(1).and_then(|a| a.parse().ok()).unwrap_or(0));
}
