//! Compression and checksum: compressed datagrams without or with a failing decompressor,
//! checksum mismatches, and extreme throttle parameters.

use super::*;

#[test]
fn compressed_flag_without_a_compressor() {
    let mut net = default_net();
    let before = net.drops();
    let seq = net.forge_seq;
    let dg = net
        .hdr()
        .reliable(FORGE_CH, seq, b"EVIL")
        .compressed()
        .bytes();
    net.inject(&dg);
    let dg = net.hdr_no_time().compressed().bytes();
    net.inject(&dg);
    // A genuinely range-coded command area.
    let plain = net.hdr().reliable(FORGE_CH, seq, b"EVIL-coded");
    let mut coder = RangeCoder::new();
    use enet_proto::Compressor;
    let mut out = vec![0u8; 4096];
    let n = coder.compress(&plain.body, &mut out).unwrap();
    let mut dg = net.hdr().compressed();
    dg.body = out[..n].to_vec();
    net.inject(&dg.bytes());
    assert_drops(&before, &net.drops(), &[(DropReason::NoDecompressor, 3)]);
    net.check_both_still_work();
}

#[test]
fn undecodable_compressed_datagrams_with_a_compressor() {
    let mut net = Net::with_setup(HostConfig::default(), HostConfig::default(), |h| {
        h.set_compressor(Some(Box::new(RangeCoder::new())))
    });
    let before = net.drops();
    let dg = net.hdr_no_time().compressed().bytes();
    net.inject(&dg);
    assert_drops(&before, &net.drops(), &[(DropReason::DecompressFailed, 1)]);
    // Garbage: whatever it decodes to, nothing may break.
    let mut x = 0x1234_5678u32;
    for len in [1usize, 2, 7, 64, 500, 3000] {
        let body: Vec<u8> = (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect();
        let mut dg = net.hdr().compressed();
        dg.body = body;
        net.inject(&dg.bytes());
    }
    net.check_both_still_work();
}

#[test]
fn checksum_mismatch() {
    let cfg = HostConfig::default().with_checksum(true);
    let mut net = Net::new(cfg.clone(), cfg);
    let before = net.drops();
    let seq = net.forge_seq;
    let good = net.hdr().reliable(FORGE_CH, seq, b"EVIL-checksum");
    // Corrupted checksum field.
    let mut dg = good.bytes();
    dg[5] ^= 0x01;
    net.inject(&dg);
    // Computed with the wrong seed.
    let mut wrong_seed = good.clone();
    wrong_seed.checksum = Some([0; 4]);
    net.inject(&wrong_seed.bytes());
    // Body changed after the checksum was computed.
    let mut dg = good.bytes();
    let last = dg.len() - 1;
    dg[last] ^= 0x20;
    net.inject(&dg);
    // Header changed (sent time) after the checksum was computed.
    let mut dg = good.bytes();
    dg[3] ^= 0x01;
    net.inject(&dg);
    // No checksum at all, as a host without one would send.
    let mut none = good.clone();
    none.checksum = None;
    net.inject(&none.bytes());
    assert_drops(&before, &net.drops(), &[(DropReason::ChecksumMismatch, 5)]);
    // A CONNECT with a bad checksum does not create a peer.
    let before = net.drops();
    let mut c = Dg::new(MAXIMUM_PEER_ID, 0, Some(5))
        .connect(connect_fields([8; 4], 2, 0))
        .with_checksum([0; 4])
        .bytes();
    c[4] ^= 0xFF;
    net.inject_from(foreign(5, 5, 5), &c);
    assert_drops(&before, &net.drops(), &[(DropReason::ChecksumMismatch, 1)]);
    assert_eq!(net.server().active_peers().count(), 2);
    net.check_both_still_work();
}

#[test]
fn extreme_throttle_parameters_from_the_remote() {
    let mut net = default_net();
    let jitter = LinkConfig::new().with_latency(ms(30), ms(25));
    net.tb.set_link(net.server, net.victim, jitter).unwrap();
    let before = net.drops();
    // Legal on the wire: the throttle parameters are plain u32s. Sent for real by the
    // victim, and also forged with other extremes.
    net.tb
        .host_mut(net.victim)
        .unwrap()
        .throttle_configure(net.v_c, 1, u32::MAX, u32::MAX)
        .unwrap();
    net.tb.run_for(ms(200));
    let info = net.server().peer_info(net.v_s).unwrap();
    assert_eq!(
        (
            info.throttle.packet_throttle_interval,
            info.throttle.packet_throttle_acceleration,
            info.throttle.packet_throttle_deceleration
        ),
        (1, u32::MAX, u32::MAX)
    );
    // Plenty of acknowledgements with varying round-trip times in both directions.
    for _ in 0..4 {
        net.exchange(Who::Victim, 30);
        net.exchange(Who::Bystander, 3);
    }
    let dg = net
        .hdr()
        .cmd(
            0x8B,
            CONTROL_CHANNEL,
            1000,
            Command::ThrottleConfigure {
                packet_throttle_interval: 0,
                packet_throttle_acceleration: 0x8000_0001,
                packet_throttle_deceleration: 0,
            },
            &[],
        )
        .bytes();
    net.inject(&dg);
    for _ in 0..4 {
        net.exchange(Who::Victim, 30);
    }
    assert_drops(&before, &net.drops(), &[]);
    let info = net.server().peer_info(net.v_s).unwrap();
    assert!(info.throttle.packet_throttle <= info.throttle.packet_throttle_limit);
    net.check_both_still_work();
}
