//! How Godot's transfer modes and user channels map to ENet channels and packet flags:
//! channel 0 reliable, channel 1 unreliable and unreliable-ordered, user channel `k ≥ 1` on
//! ENet channel `k + 1`.

use super::*;
/// The user channel of ENet channel `c`.
pub(crate) fn user_channel(c: u8) -> i32 {
    if c as usize >= SYSCH_MAX {
        c as i32 - 1
    } else {
        0
    }
}

/// The ENet channel and flags of a send.
pub(crate) fn enet_channel_and_flags(mode: TransferMode, user_channel: i32) -> Result<(u8, u32)> {
    let (mut channel, flags) = match mode {
        TransferMode::Unreliable => (
            SYSCH_UNRELIABLE,
            FLAG_UNSEQUENCED | FLAG_UNRELIABLE_FRAGMENT,
        ),
        TransferMode::UnreliableOrdered => (SYSCH_UNRELIABLE, FLAG_UNRELIABLE_FRAGMENT),
        TransferMode::Reliable => (SYSCH_RELIABLE, FLAG_RELIABLE),
    };
    if user_channel > 0 {
        let c = user_channel as usize + 1;
        if c > 254 {
            return Err(Error::out_of_range(
                "transfer_channel",
                user_channel.into(),
                0,
                253,
            ));
        }
        channel = c as u8;
    }
    Ok((channel, flags))
}

pub(crate) fn mode_of_flags(flags: u32) -> TransferMode {
    if flags & FLAG_RELIABLE != 0 {
        TransferMode::Reliable
    } else if flags & FLAG_UNSEQUENCED != 0 {
        TransferMode::Unreliable
    } else {
        TransferMode::UnreliableOrdered
    }
}
