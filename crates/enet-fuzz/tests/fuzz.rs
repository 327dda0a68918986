//! The fuzzer as a test: a short run against the real engine (about 5 s), plus checks of
//! the harness itself (an unmutated replay reproduces the recorded session; a panicking or
//! failing case is caught, written to a file and reproduced from it).

use std::time::Duration;

use enet_fuzz::world::{self, Variant};
use enet_fuzz::{case_file, fuzz, fuzz_with, recordings, reproduce, Options};

fn out_dir(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("enet-fuzz-test-{name}-{}", std::process::id()))
}

#[test]
fn an_unmutated_replay_is_the_recorded_session() {
    for rec in recordings().unwrap() {
        assert!(
            rec.to_server.len() >= 10,
            "{:?}: {} datagrams",
            rec.variant,
            rec.to_server.len()
        );
        let s = world::run_case(rec.variant, &rec.to_server).unwrap();
        // Bystander and client connected; the client's 11 packets (and the
        // acknowledgements of their echoes) got through as recorded.
        assert_eq!(s.server_connects, 2, "{:?}: {s:?}", rec.variant);
        assert_eq!(s.other_packets, 11, "{:?}: {s:?}", rec.variant);
        assert_eq!(
            (s.server_connects, s.other_packets, s.echoes),
            (
                rec.stats.server_connects,
                rec.stats.other_packets,
                rec.stats.echoes
            )
        );
        assert!(s.echoes >= 40, "{s:?}");
        // Without the client's datagrams only the bystander gets in.
        let alone = world::run_case(rec.variant, &[]).unwrap();
        assert_eq!((alone.server_connects, alone.other_packets), (1, 0));
    }
}

#[test]
fn five_seconds_of_fuzzing_find_no_failure() {
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let opts = Options {
        seed,
        iterations: None,
        duration: Some(Duration::from_secs(5)),
        out_dir: out_dir("run"),
    };
    let r = fuzz(&opts).unwrap();
    eprintln!(
        "seed {seed}: {} cases ({:.0}/s), {} datagrams injected, {} echoes, {} failures",
        r.executions,
        r.executions_per_second(),
        r.injected,
        r.echoes,
        r.failure_count
    );
    for f in &r.failures {
        eprintln!("FAILED {:016x}: {} ({:?})", f.seed, f.message, f.file);
    }
    assert_eq!(
        r.failure_count, 0,
        "reproduce with enet-fuzz --reproduce FILE"
    );
    assert!(r.executions >= 100, "{} cases", r.executions);
    assert!(r.injected > r.executions * 10);
}

#[test]
fn failures_are_caught_written_and_reproducible() {
    let dir = out_dir("catch");
    let opts = Options {
        seed: 7,
        iterations: Some(40),
        duration: None,
        out_dir: dir.clone(),
    };
    // A harness whose "engine" panics on some cases and reports a broken invariant on
    // others; the real one runs the rest.
    let r = fuzz_with(&opts, |v, case| match case.len() % 7 {
        0 => panic!("deliberate panic on a case of {} datagrams", case.len()),
        1 => Err("deliberate invariant failure".into()),
        _ => world::run_case(v, case),
    })
    .unwrap();
    assert_eq!(r.executions, 40);
    assert!(
        r.failure_count > 0 && r.failure_count < 40,
        "{}",
        r.failure_count
    );
    let panics = r.failures.iter().filter(|f| f.panicked).count();
    assert!(panics > 0, "{:?}", r.failures);
    // A panic is reported with its location.
    let p = r.failures.iter().find(|f| f.panicked).unwrap();
    assert!(
        p.message.contains("fuzz.rs") && p.message.contains("deliberate panic"),
        "{}",
        p.message
    );
    for f in &r.failures {
        let path = f.file.as_ref().expect("case file written");
        let text = std::fs::read_to_string(path).unwrap();
        let case = case_file::read(&text).unwrap();
        assert_eq!(case.seed, f.seed);
        assert!(text.contains(&f.message.replace(['\n', '\r'], " ")));
        // The real engine passes these cases: reproducing them says so.
        let stats = reproduce(&text)
            .unwrap()
            .expect("passes with the real engine");
        assert_eq!(stats.injected, case.injections.len() as u64);
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(Variant::from_name("plain").is_some());
}
