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
