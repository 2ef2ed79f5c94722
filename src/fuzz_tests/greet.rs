//! The greeter target: `GreetSession` fed lines split at random points.

use super::*;

const LINES: &[&[u8]] = &[
    b"hello\n",
    b"Sarah\r\n",
    b"\n",
    b"exit\n",
    b"caf\xc3\xa9 \xff\n",
    b"a line a little longer than the shortest caps\n",
    b"no end",
    b"\r",
];

#[test]
fn greet_session() {
    run("greet_session", |rng| {
        let limits = GreetLimits {
            max_line: 1 + rng.below(48),
            output_cap: 1 + rng.below(300),
            ..GreetLimits::default()
        };
        let mut input = Vec::new();
        for _ in 0..rng.below(12) {
            input.extend_from_slice(&rng.pick(LINES)[..]);
        }
        if rng.one_in(2) {
            mutate(rng, &mut input, LINES);
        }
        let session = || {
            let now = Instant::now();
            Driven::new(
                GreetSession::new(
                    limits,
                    crate::event_loop::Peer::Tcp("127.0.0.1:1".parse().unwrap()),
                    now,
                ),
                now,
            )
        };
        let whole = session().run(&input, &[]);
        let split = session().run(&input, &cuts(rng, input.len()));
        assert_eq!(
            (&split.wire.sent, split.last, split.session.messages()),
            (&whole.wire.sent, whole.last, whole.session.messages()),
            "split differently: {:?}",
            String::from_utf8_lossy(&input)
        );
        // Each reply answers a line of input, the final one perhaps unended.
        let lines = input.iter().filter(|&&b| b == b'\n').count() as u64;
        assert!(whole.session.messages() <= lines + 1);
    });
}

// ---------------------------------------------------------------- page codec
