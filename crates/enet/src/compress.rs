//! Datagram compression modes (Godot's `ENetConnection.CompressionMode`).

/// `ENetConnection.CompressionMode`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum CompressionMode {
    /// No compression.
    #[default]
    None = 0,
    /// ENet's range coder.
    RangeCoder = 1,
}

impl CompressionMode {
    /// A fresh compressor for this mode.
    pub fn compressor(self) -> Option<Box<dyn enet_proto::Compressor>> {
        match self {
            CompressionMode::None => None,
            CompressionMode::RangeCoder => Some(Box::new(enet_proto::RangeCoder::new())),
        }
    }
}
