// A Rust std program the way people write them: std::fs, std::env, std::time, std::io::stdin.
//   tour fs DIR...   create, append, rename, copy, list, stat, remove under DIR/tour-rust
//                    (DIR/tour-rust/kept.txt stays), then the image's files and current_dir
//   tour args ARG... the arguments (not argv[0]) and every CORPUS_* variable
//   tour clock MS    clocks and a sleep
//   tour stdin       stdin to end of file
//   tour exit N      exits with N
// Every line printed is the same on every run, so outputs can be compared across engines.
use std::fs::{self, OpenOptions};
use std::io::{self, BufRead, Write};
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

fn listing(dir: &Path) -> io::Result<String> {
    let mut names = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let meta = entry.metadata()?;
        let name = entry.file_name().to_string_lossy().into_owned();
        names.push(if meta.is_dir() { format!("{}/", name) } else { format!("{}({})", name, meta.len()) });
    }
    names.sort();
    Ok(names.join(" "))
}

fn tour(dir: &str) -> io::Result<()> {
    println!("== {}", dir);
    let t = Path::new(dir).join("tour-rust");
    fs::create_dir(&t)?;
    fs::write(t.join("a.txt"), "alpha\n")?;
    OpenOptions::new().append(true).open(t.join("a.txt"))?.write_all("beta ünïcödé\n".as_bytes())?;
    let meta = fs::metadata(t.join("a.txt"))?;
    let age = SystemTime::now().duration_since(meta.modified()?).unwrap_or_default();
    println!("stat a.txt: file={} size={} modified-recently={}", meta.is_file(), meta.len(), age < Duration::from_secs(86400));
    fs::rename(t.join("a.txt"), t.join("kept.txt"))?;
    fs::copy(t.join("kept.txt"), t.join("copy.txt"))?;
    fs::create_dir_all(t.join("sub/deeper"))?;
    fs::write(t.join("sub/deeper/n.txt"), "nested\n")?;
    println!("list: {}", listing(&t)?);
    print!("read copy.txt: {}", fs::read_to_string(t.join("copy.txt"))?);
    fs::remove_file(t.join("copy.txt"))?;
    fs::remove_dir_all(t.join("sub"))?;
    println!("a.txt exists after rename: {}", t.join("a.txt").exists());
    println!("list: {}", listing(&t)?);
    Ok(())
}

fn show(label: &str, path: &str) {
    match fs::read_to_string(path) {
        Ok(text) => print!("{} {}: {}", label, path, text),
        Err(e) => println!("{} {}: {:?}", label, path, e.kind()),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rest = if args.is_empty() { &args[..] } else { &args[1..] };
    let mut ok = true;
    match args.first().map(String::as_str) {
        Some("fs") => {
            for dir in rest {
                if let Err(e) = tour(dir) {
                    println!("error in {}: {:?}", dir, e.kind());
                    ok = false;
                }
            }
            println!("current_dir: {}", std::env::current_dir().map(|p| p.display().to_string()).unwrap_or_else(|e| format!("{:?}", e.kind())));
            show("image", "/etc/corpus/app.conf");
            show("relative", "data.txt");
            show("relative", "nested/deep/file.txt");
            show("parent", "../data.txt");
        }
        Some("args") => {
            for (i, a) in rest.iter().enumerate() {
                println!("arg[{}]=<{}> ({} chars)", i + 1, a, a.chars().count());
            }
            let mut vars: Vec<(String, String)> = std::env::vars().filter(|(k, _)| k.starts_with("CORPUS_")).collect();
            vars.sort();
            for (k, v) in vars {
                println!("env <{}={}>", k, v);
            }
        }
        Some("clock") => {
            let ms: u64 = rest.first().and_then(|s| s.parse().ok()).unwrap_or(100);
            let wall = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
            println!("wall clock after 2020: {}", wall > 1_577_836_800);
            let start = Instant::now();
            std::thread::sleep(Duration::from_millis(ms));
            // Less 2 ms: libuv's timers (node:wasi) count whole milliseconds from a cached loop time.
            println!("slept {} ms, at least that long: {}", ms, start.elapsed() + Duration::from_millis(2) >= Duration::from_millis(ms));
        }
        Some("stdin") => {
            let (mut lines, mut bytes) = (0, 0);
            for line in io::stdin().lock().lines() {
                let line = line.expect("stdin");
                lines += 1;
                bytes += line.len() + 1;
                println!("{}: {}", lines, line);
            }
            println!("eof after {} lines, about {} bytes", lines, bytes);
        }
        Some("exit") => {
            let code: i32 = rest.first().and_then(|s| s.parse().ok()).unwrap_or(0);
            eprintln!("exiting with {}", code);
            std::process::exit(code);
        }
        other => {
            eprintln!("usage: tour fs|args|clock|stdin|exit ... (got {:?})", other);
            std::process::exit(2);
        }
    }
    std::process::exit(if ok { 0 } else { 1 });
}
