//! Tests of the peer records: their sizes and the outgoing command's wire form.

use super::*;

/// Most bytes of a [`Peer`] record (504 when issue 14's compaction began; the adaptive
/// transit window and the newest acknowledged send time of early retransmission added 16).
const PEER_BOUND: usize = 520;

/// What one queued or in-flight command costs in the host's command table, and what
/// one peer slot costs, whether used or not (issue 14: memory per peer).
#[test]
fn records_stay_compact() {
    assert_eq!(std::mem::size_of::<OutgoingBody>(), 16);
    assert!(std::mem::size_of::<OutgoingCommand>() <= 80);
    assert!(
        std::mem::size_of::<Peer>() <= PEER_BOUND,
        "{}",
        std::mem::size_of::<Peer>()
    );
}

/// A fragment goes on the wire with the length and offset its body dropped.
#[test]
fn a_fragment_keeps_its_length_and_offset() {
    let f = Fragment {
        start_sequence_number: 7,
        data_length: 3,
        fragment_count: 4,
        fragment_number: 2,
        total_length: 1000,
        fragment_offset: 600,
    };
    let c = OutgoingCommand::new(
        crate::protocol::CommandKind::SendFragment as u8,
        0,
        Command::SendFragment(f),
        Bytes::from_static(b"abc"),
        true,
        600,
    );
    assert_eq!(c.wire_command(), Command::SendFragment(f));
    let p = OutgoingCommand::new(0, 0, Command::Ping, Bytes::new(), false, 0);
    assert_eq!(p.wire_command(), Command::Ping);
}

/// The reordering allowance: a sixteenth of the RTT (at least 2 ms) until an early copy
/// proves spurious; each spurious one adds an eighth up to one RTT; 16 needed copies in a
/// row take an eighth off, and a spurious one restarts that count.
#[test]
fn the_reordering_allowance_widens_on_spurious_copies_and_narrows_on_needed_ones() {
    let mut t = Timeouts::default();
    assert_eq!(t.reorder_allowance(80), 5);
    assert_eq!(t.reorder_allowance(20), 2, "at least 2 ms");
    t.early_copy_verdict(false);
    assert_eq!(
        (t.reorder_scale, t.needed_early_copies),
        (0, 0),
        "nothing to undo"
    );
    for scale in 1..=MAX_REORDER_SCALE {
        t.early_copy_verdict(true);
        assert_eq!(t.reorder_scale, scale);
        assert_eq!(t.reorder_allowance(80), 10 * u32::from(scale));
    }
    t.early_copy_verdict(true);
    assert_eq!(t.reorder_scale, MAX_REORDER_SCALE, "at most one RTT");
    for _ in 0..REORDER_DECAY - 1 {
        t.early_copy_verdict(false);
    }
    t.early_copy_verdict(true);
    assert_eq!(t.reorder_scale, MAX_REORDER_SCALE, "the count restarts");
    for _ in 0..REORDER_DECAY {
        t.early_copy_verdict(false);
    }
    assert_eq!(t.reorder_scale, MAX_REORDER_SCALE - 1);
    for _ in 0..REORDER_DECAY * MAX_REORDER_SCALE {
        t.early_copy_verdict(false);
    }
    assert_eq!(t.reorder_scale, 0);
    assert_eq!(t.reorder_allowance(80), 5);
}
