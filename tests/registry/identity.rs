//! The harness's own guarantees on a busy machine: a started registry is the test's own
//! (it serves the marker seeded into its storage), a stranger on the chosen port is never
//! taken for it, and the test servers bind port 0.

use std::io::{Read, Write};
use std::net::TcpListener;

use crate::harness::{Registry, Variant, is_own_registry};

/// A server that looks like a registry (`/v2/` with distribution's API-version header, 200
/// for everything) but is not the test's.
fn impostor() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for mut conn in listener.incoming().flatten() {
            let mut buf = [0u8; 4096];
            let _ = conn.read(&mut buf);
            let _ = conn.write_all(
                b"HTTP/1.1 200 OK\r\nDocker-Distribution-API-Version: registry/2.0\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
            );
        }
    });
    port
}

#[test]
fn a_started_registry_proves_it_is_the_tests_own() {
    for variant in [Variant::Plain, Variant::Htpasswd, Variant::Tls] {
        let reg = Registry::start(variant);
        assert!(reg.is_own(), "{variant:?}");
    }
    let a = Registry::start(Variant::Plain);
    let b = Registry::start(Variant::Plain);
    assert_ne!(a.port, b.port);
    // Each answers only for its own marker.
    assert!(!is_own_registry(a.port, Variant::Plain, None, &b.marker));
    assert!(!is_own_registry(
        impostor(),
        Variant::Plain,
        None,
        &a.marker
    ));
}

#[test]
fn a_port_held_by_another_registry_is_not_taken_for_ours() {
    // Another registry (as another test run on the machine would start) holds the port the
    // harness tries first: the new one must not settle for it.
    let stranger = Registry::start(Variant::Plain);
    let ours = Registry::start_at(Variant::Plain, Some(stranger.port));
    assert_ne!(ours.port, stranger.port);
    assert!(ours.is_own() && stranger.is_own());
    // The same for a server that only looks like a registry.
    let port = impostor();
    let ours = Registry::start_at(Variant::Plain, Some(port));
    assert_ne!(ours.port, port);
    assert!(ours.is_own());
    let pushed = ours.pusher().image("id/app", "1.0", "amd64", "i");
    assert!(pushed.digest.starts_with("sha256:"));
}
