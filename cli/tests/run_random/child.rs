//! The sandboxed child: performs each access and reports what the kernel said.

use std::io::ErrorKind;
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;

use super::CHILD_ENV;

#[test]
#[ignore = "not a test on its own: the sandboxed child that the tests below run under `corral run`"]
fn sandboxed_child() {
    let Ok(plan) = std::env::var(CHILD_ENV) else { return };
    for (i, line) in plan.lines().enumerate() {
        let outcome = match perform(line) {
            Ok(()) => "allowed".to_owned(),
            Err(e) if e.kind() == ErrorKind::PermissionDenied => "denied".to_owned(),
            Err(e) => format!("error {e} (os error {:?})", e.raw_os_error()),
        };
        println!("corral-attempt {i} {outcome}");
    }
}

fn perform(line: &str) -> std::io::Result<()> {
    let mut words = line.splitn(3, ' ');
    let op = words.next().unwrap_or_default();
    let arg = words.next().unwrap_or_default();
    let extra = words.next().unwrap_or_default();
    let port = || arg.parse::<u16>().unwrap_or(0);
    match op {
        "read" => std::fs::File::open(arg).map(drop),
        "list" => std::fs::read_dir(arg).map(drop),
        "append" => std::fs::OpenOptions::new().append(true).open(arg).map(drop),
        "truncate" => std::fs::OpenOptions::new().write(true).truncate(true).open(arg).map(drop),
        // Opening a new file for writing needs `write` on it too; the file
        // is made (the `create` access) whether or not that open succeeds.
        "create" => match std::fs::OpenOptions::new().write(true).create_new(true).open(arg) {
            Err(e) if e.kind() == ErrorKind::PermissionDenied && Path::new(arg).exists() => Ok(()),
            r => r.map(drop),
        },
        "mkdir" => std::fs::create_dir(arg),
        "symlink" => std::os::unix::fs::symlink("target", arg),
        "link" => std::fs::hard_link(extra, arg),
        "socket" => std::os::unix::net::UnixListener::bind(arg).map(drop),
        "unlink" => std::fs::remove_file(arg),
        "rmdir" => std::fs::remove_dir(arg),
        // Only `execve` is the exec access: a script whose interpreter may
        // not read it still counts as executed.
        "exec" => Command::new(arg).status().map(drop),
        "connect" => TcpStream::connect(("127.0.0.1", port())).map(drop),
        // Landlock decides before the address is looked up, so a port
        // taken meanwhile by someone else still shows the bind was allowed.
        "bind" => match TcpListener::bind(("127.0.0.1", port())) {
            Err(e) if e.kind() == ErrorKind::AddrInUse => Ok(()),
            r => r.map(drop),
        },
        _ => Err(std::io::Error::other(format!("unknown access `{line}`"))),
    }
}
