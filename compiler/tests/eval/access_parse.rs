//! `Access::parse` for every command-line form of LANGUAGE.md §7, and the
//! errors a user sees for the forms that are valid in rules but not in a
//! single access.

use std::net::{IpAddr, Ipv4Addr};

use corral_compiler::eval::{Access, Host};
use corral_compiler::ir::{Device, DeviceMode, Proto, Right};

use super::builder::HOME;

fn parse(text: &str) -> Access {
    match Access::parse(text, HOME) {
        Ok(a) => a,
        Err(e) => panic!("`{text}` failed: {} ({})", e.message(), e.help()),
    }
}

/// The error for `text`, as (message, help).
fn error(text: &str) -> (String, String) {
    match Access::parse(text, HOME) {
        Ok(a) => panic!("`{text}` parsed as `{a}`"),
        Err(e) => (e.message().to_owned(), e.help().to_owned()),
    }
}

fn name(s: &str) -> Host {
    Host::Name(s.into())
}

#[test]
fn file_accesses_for_every_right() {
    for right in Right::ALL {
        let text = format!("{} /etc/passwd", right.keyword());
        assert_eq!(parse(&text), Access::File { right, path: "/etc/passwd".into() });
        assert_eq!(parse(&text).to_string(), text);
    }
    assert_eq!(
        parse("read ~/.ssh/id_rsa"),
        Access::File { right: Right::Read, path: "/home/u/.ssh/id_rsa".into() }
    );
    assert_eq!(parse("list ~"), Access::File { right: Right::List, path: "/home/u".into() });
    assert_eq!(parse("list /"), Access::File { right: Right::List, path: "/".into() });
    // Glob characters and spaces are part of the file name.
    assert_eq!(parse("write /a/*.{x}"), Access::File { right: Right::Write, path: "/a/*.{x}".into() });
    assert_eq!(
        parse("read /My Files/a b"),
        Access::File { right: Right::Read, path: "/My Files/a b".into() }
    );
}

#[test]
fn malformed_paths_are_errors() {
    assert_eq!(error("read etc/passwd").0, "path `etc/passwd` is relative");
    assert_eq!(error("read /a//b").0, "path `/a//b` contains `//`");
    assert_eq!(error("read /a/").0, "path `/a/` ends with `/`");
    assert_eq!(error("read /a/./b").0, "path `/a/./b` contains a `.` or `..` segment");
    assert_eq!(error("read /a/..").0, "path `/a/..` contains a `.` or `..` segment");
    assert_eq!(error("read /a\0b").0, "path `/a\0b` contains a NUL character");
    assert_eq!(error("read ~bob/x").0, "`~bob/x`: `~user` paths are not supported");
    let (message, help) = error("read");
    assert_eq!(message, "missing path after `read`");
    assert!(help.contains("`read /etc/passwd`"), "{help}");
}

#[test]
fn connect_accesses() {
    assert_eq!(
        parse("connect tcp github.com:443"),
        Access::Connect { proto: Proto::Tcp, host: name("github.com"), port: 443 }
    );
    assert_eq!(
        parse("connect udp [2001:db8::1]:53"),
        Access::Connect { proto: Proto::Udp, host: Host::ip("2001:db8::1".parse().unwrap()), port: 53 }
    );
    assert_eq!(
        parse("connect tcp 10.0.0.1:443"),
        Access::Connect {
            proto: Proto::Tcp,
            host: Host::ip(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1))),
            port: 443
        }
    );
    // Mapped IPv6 is the IPv4 address, and shows as one.
    assert_eq!(parse("connect tcp [::ffff:10.0.0.1]:443").to_string(), "connect tcp 10.0.0.1:443");
    assert_eq!(parse("connect tcp GitHub.COM.:443").to_string(), "connect tcp github.com:443");
    assert_eq!(parse("connect udp [2001:DB8::1]:53").to_string(), "connect udp [2001:db8::1]:53");
    assert_eq!(parse("connect tcp [::1]:0").to_string(), "connect tcp [::1]:0");
    assert_eq!(parse("connect tcp a.com:65535").to_string(), "connect tcp a.com:65535");
}

#[test]
fn connect_errors_say_what_to_write() {
    let (message, help) = error("connect github.com:443");
    assert_eq!(
        message,
        "missing protocol: write `connect tcp github.com:443` or `connect udp github.com:443`"
    );
    assert!(help.contains("`tcp` or `udp`"), "{help}");
    assert_eq!(error("connect").0, "missing protocol and endpoint: write `connect tcp github.com:443`");
    assert_eq!(error("connect http github.com:443").0, "unknown protocol `http`");
    assert_eq!(error("connect tcp").0, "missing endpoint after `connect tcp`");
    assert_eq!(error("connect tcp github.com").0, "missing port in `github.com`");
    assert_eq!(error("connect tcp github.com:").0, "missing port in `github.com:`");
    assert_eq!(error("connect tcp github.com:65536").0, "invalid port `65536`");
    assert_eq!(error("connect tcp github.com:*").0, "invalid port `*`");
    assert_eq!(error("connect tcp github.com:80..90").0, "invalid port `80..90`");
    assert_eq!(error("connect tcp :443").0, "missing host in `:443`");
    assert_eq!(error("connect udp 2001:db8::1:53").0, "ambiguous IPv6 endpoint `2001:db8::1:53`");
    assert_eq!(error("connect udp [2001:db8::1:53").0, "unclosed `[` in `[2001:db8::1:53`");
    assert_eq!(error("connect udp [2001:db8::1]").0, "missing port in `[2001:db8::1]`");
    assert_eq!(error("connect tcp [a.com]:1").0, "`a.com` in brackets is not an IP address");
    assert_eq!(error("connect tcp 10.0.0.0/8:443").0, "`10.0.0.0/8` is a range, not one host");
    assert_eq!(error("connect tcp *.a.com:443").0, "invalid wildcard in host `*.a.com`");
    assert_eq!(error("connect tcp -a.com:443").0, "invalid label `-a` in host name");
    assert_eq!(error("connect tcp a.com:1 b.com:2").0, "unexpected `b.com:2` after the access");
    // Short numeric forms reach addresses through C resolvers: never names.
    assert_eq!(error("connect tcp 127.1:80").0, "`127.1` is neither a host name nor a full address");
    assert_eq!(
        error("connect tcp 2130706433:80").0,
        "`2130706433` is neither a host name nor a full address"
    );
    assert_eq!(parse("connect tcp 10.0.0.1.:80").to_string(), "connect tcp 10.0.0.1:80");
}

#[test]
fn bind_accesses() {
    assert_eq!(parse("bind tcp 8080"), Access::Bind { proto: Proto::Tcp, port: 8080, peer: None });
    assert_eq!(
        parse("bind udp 53 from 192.0.2.1"),
        Access::Bind {
            proto: Proto::Udp,
            port: 53,
            peer: Some(Host::ip(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1))))
        }
    );
    assert_eq!(parse("bind tcp 8080 from [::1]").to_string(), "bind tcp 8080 from ::1");
    assert_eq!(parse("bind tcp 8080 from Peer.Example.").to_string(), "bind tcp 8080 from peer.example");
    assert_eq!(parse("bind tcp 8080 from 192.0.2.1").to_string(), "bind tcp 8080 from 192.0.2.1");
}

#[test]
fn bind_errors() {
    assert_eq!(error("bind 8080").0, "missing protocol: write `bind tcp 8080` or `bind udp 8080`");
    assert_eq!(
        error("bind 8080 from 192.0.2.1").0,
        "missing protocol: write `bind tcp 8080 from 192.0.2.1` or `bind udp 8080 from 192.0.2.1`"
    );
    assert_eq!(error("bind sctp 8080").0, "unknown protocol `sctp`");
    assert_eq!(error("bind tcp").0, "missing port after `bind tcp`");
    assert_eq!(error("bind tcp 70000").0, "invalid port `70000`");
    assert_eq!(error("bind tcp 8080 from").0, "missing peer after `from`");
    assert_eq!(error("bind tcp 8080 to 1.2.3.4").0, "unexpected `to` after the port");
    assert_eq!(error("bind tcp 8080 from 1.2.3.4 x").0, "unexpected `x` after the access");
    assert_eq!(error("bind tcp 8080 from 10.0.0.0/8").0, "`10.0.0.0/8` is a range, not one host");
}

#[test]
fn device_accesses() {
    let cases = [
        ("clipboard write", Device::Clipboard, DeviceMode::Write),
        ("clipboard read", Device::Clipboard, DeviceMode::Read),
        ("screen capture", Device::Screen, DeviceMode::Capture),
        ("input inject", Device::Input, DeviceMode::Inject),
        ("camera", Device::Camera, DeviceMode::Use),
        ("microphone", Device::Microphone, DeviceMode::Use),
        ("location", Device::Location, DeviceMode::Use),
        ("browser", Device::Browser, DeviceMode::Use),
        ("windows", Device::Windows, DeviceMode::Use),
    ];
    for (text, device, mode) in cases {
        assert_eq!(parse(text), Access::Device { device, mode }, "{text}");
        assert_eq!(parse(text).to_string(), text);
    }
    // A device with a single mode may leave it out.
    assert_eq!(parse("screen").to_string(), "screen capture");
    assert_eq!(parse("input").to_string(), "input inject");
}

#[test]
fn device_errors() {
    let (message, help) = error("clipboard");
    assert_eq!(message, "missing mode: write `clipboard read` or `clipboard write`");
    assert!(help.contains("an access names one"), "{help}");
    let (message, help) = error("clipboard capture");
    assert_eq!(message, "`clipboard` has no mode `capture`");
    assert_eq!(help, "the modes of `clipboard` are `read` and `write`");
    let (message, help) = error("camera use");
    assert_eq!(message, "`camera` has no mode `use`");
    assert_eq!(help, "`camera` takes no mode: write `camera`");
    assert_eq!(error("screen inject").0, "`screen` has no mode `inject`");
    assert_eq!(error("clipboard read write").0, "unexpected `write` after the access");
}

#[test]
fn unknown_and_empty_accesses() {
    let (message, help) = error("open /etc/passwd");
    assert_eq!(message, "unknown access `open`");
    assert!(help.contains("`connect tcp|udp HOST:PORT`"), "{help}");
    assert_eq!(error("").0, "empty access");
    assert_eq!(error("   ").0, "empty access");
    assert_eq!(error("Read /x").0, "unknown access `Read`");
}

#[test]
fn messages_are_lower_case_without_trailing_period() {
    for text in ["", "connect x", "bind tcp", "clipboard", "read a", "connect tcp a:b", "nope"] {
        let (message, help) = error(text);
        assert!(!message.ends_with('.'), "{message}");
        assert!(!message.starts_with(|c: char| c.is_ascii_uppercase()), "{message}");
        assert!(!help.is_empty(), "no help for `{text}`");
    }
}
