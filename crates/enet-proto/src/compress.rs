//! Datagram compression hook.
//!
//! ENet compresses the command area of each datagram (everything after the header and the
//! optional checksum) independently. A host with a compressor sets the `COMPRESSED` header flag
//! on datagrams that shrank; a host without one drops such datagrams.

/// A per-datagram compressor, such as ENet's range coder or one of Godot's compressors.
///
/// Each call must be independent of the previous ones (ENet resets the model for every
/// datagram). Implementations may keep scratch memory in `self` to avoid allocating per call.
pub trait Compressor: Send {
    /// Compresses `input` into `out`.
    ///
    /// Returns the number of bytes written, or `None` if the input is empty, the output
    /// would not fit in `out`, or compression failed. The engine only uses the result when
    /// it is strictly shorter than `input`.
    fn compress(&mut self, input: &[u8], out: &mut [u8]) -> Option<usize>;

    /// Decompresses `input` into `out`.
    ///
    /// Returns the number of bytes produced, or `None` if the input is corrupt or the result
    /// would not fit in `out`. A result of zero bytes is reported as `None`.
    fn decompress(&mut self, input: &[u8], out: &mut [u8]) -> Option<usize>;
}
